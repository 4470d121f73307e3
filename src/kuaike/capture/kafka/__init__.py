"""Kafka as the change stream: `consume.py` applies topics in a change format to the store,
`publish.py` writes a source's changes to topics. confluent-kafka is the optional extra
`kuaike[kafka]`; `client()` says how to install it when it is missing."""
