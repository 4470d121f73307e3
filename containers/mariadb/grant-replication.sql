-- Run once on a new CRM server: kuaike reads the binlog as a replica does, and snapshots tables.
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'kuaike'@'%';
