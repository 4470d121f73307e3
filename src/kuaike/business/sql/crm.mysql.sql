-- The carrier's CRM: 3 tables, MySQL / MariaDB (database `crm` in the reference system).
-- Captured into the replica as tbl_address, tbl_customer, tbl_consumer_address_map (the reference's
-- Canal parser rewrote the crm_ prefix the same way). Idempotent.

CREATE TABLE IF NOT EXISTS crm_address (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name varchar(50),
    tel varchar(20),
    mobile varchar(20),
    detail_addr varchar(100),
    area_id bigint,
    gis_addr varchar(20),
    cdt datetime,
    udt datetime,
    remark varchar(100),
    KEY crm_address_area_id_idx (area_id),
    KEY crm_address_mobile_idx (mobile)
) DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS crm_customer (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name varchar(50),
    tel varchar(20),
    mobile varchar(20),
    email varchar(50),
    type bigint,
    is_own_reg bigint,
    reg_dt datetime,
    reg_channel_id bigint,
    state int,
    cdt datetime,
    udt datetime,
    last_login_dt datetime,
    remark varchar(100),
    KEY crm_customer_mobile_idx (mobile)
) DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS crm_consumer_address_map (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    consumer_id bigint,
    address_id bigint,
    cdt datetime,
    udt datetime,
    remark varchar(100),
    KEY crm_consumer_address_map_consumer_id_idx (consumer_id),
    KEY crm_consumer_address_map_address_id_idx (address_id)
) DEFAULT CHARSET = utf8mb4;
