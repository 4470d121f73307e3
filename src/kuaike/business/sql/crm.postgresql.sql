-- The carrier's CRM: 3 tables, PostgreSQL flavour (for a demo without MySQL). Same names and
-- columns as crm.mysql.sql: datetime -> timestamp(0). Idempotent.

CREATE TABLE IF NOT EXISTS crm_address (
    id bigserial PRIMARY KEY,
    name varchar(50),
    tel varchar(20),
    mobile varchar(20),
    detail_addr varchar(100),
    area_id bigint,
    gis_addr varchar(20),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS crm_address_area_id_idx ON crm_address (area_id);
CREATE INDEX IF NOT EXISTS crm_address_mobile_idx ON crm_address (mobile);

CREATE TABLE IF NOT EXISTS crm_customer (
    id bigserial PRIMARY KEY,
    name varchar(50),
    tel varchar(20),
    mobile varchar(20),
    email varchar(50),
    type bigint,
    is_own_reg bigint,
    reg_dt timestamp(0),
    reg_channel_id bigint,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    last_login_dt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS crm_customer_mobile_idx ON crm_customer (mobile);

CREATE TABLE IF NOT EXISTS crm_consumer_address_map (
    id bigserial PRIMARY KEY,
    consumer_id bigint,
    address_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS crm_consumer_address_map_consumer_id_idx ON crm_consumer_address_map (consumer_id);
CREATE INDEX IF NOT EXISTS crm_consumer_address_map_address_id_idx ON crm_consumer_address_map (address_id);
