-- The carrier's logistics operations system: 48 tables, PostgreSQL.
-- Table and column names are the reference system's own (typos included: birathday,
-- actua_arrivals_dt, express_bill__id, "empId"). Oracle types mapped as: NUMBER(19,0) -> bigint,
-- NUMBER(10,0) -> integer, NVARCHAR2(n) -> varchar(n), NUMBER(p,s) -> numeric(p,s), DATE -> timestamp(0).
-- Idempotent: every statement may run again on an existing database.

CREATE TABLE IF NOT EXISTS tbl_areas (
    id bigint PRIMARY KEY,
    name varchar(40),
    pid bigint,
    sname varchar(40),
    level varchar(11),
    citycode varchar(20),
    yzcode varchar(20),
    mername varchar(100),
    lng numeric(11,4),
    lat numeric(11,4),
    pinyin varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_areas_pid_idx ON tbl_areas (pid);

CREATE TABLE IF NOT EXISTS tbl_charge_standard (
    id bigserial PRIMARY KEY,
    start_area_id bigint,
    stop_area_id bigint,
    first_weight_charge bigint,
    follow_up_weight_charge bigint,
    prescription bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_codes (
    id bigserial PRIMARY KEY,
    name varchar(50),
    type bigint,
    code varchar(50),
    code_desc varchar(100),
    code_type varchar(50),
    state bigint,
    cdt timestamp(0),
    udt timestamp(0)
);

CREATE TABLE IF NOT EXISTS tbl_collect_package (
    id bigserial PRIMARY KEY,
    cid bigint,
    eid bigint,
    pkg_id bigint,
    express_bill_id bigint,
    express_bill_number varchar(100),
    state integer,
    collect_package_dt timestamp(0),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_collect_package_cid_idx ON tbl_collect_package (cid);
CREATE INDEX IF NOT EXISTS tbl_collect_package_eid_idx ON tbl_collect_package (eid);
CREATE INDEX IF NOT EXISTS tbl_collect_package_pkg_id_idx ON tbl_collect_package (pkg_id);
CREATE INDEX IF NOT EXISTS tbl_collect_package_express_bill_id_idx ON tbl_collect_package (express_bill_id);
CREATE INDEX IF NOT EXISTS tbl_collect_package_express_bill_number_idx ON tbl_collect_package (express_bill_number);

CREATE TABLE IF NOT EXISTS tbl_company (
    id bigserial PRIMARY KEY,
    company_name varchar(50),
    city_id bigint,
    company_number varchar(50),
    company_addr varchar(100),
    company_addr_gis varchar(100),
    company_tel varchar(20),
    is_sub_company bigint,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_company_city_id_idx ON tbl_company (city_id);

CREATE TABLE IF NOT EXISTS tbl_company_dot_map (
    id bigserial PRIMARY KEY,
    company_id bigint,
    dot_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_company_dot_map_company_id_idx ON tbl_company_dot_map (company_id);
CREATE INDEX IF NOT EXISTS tbl_company_dot_map_dot_id_idx ON tbl_company_dot_map (dot_id);

CREATE TABLE IF NOT EXISTS tbl_company_transport_route_ma (
    id bigserial PRIMARY KEY,
    company_id bigint,
    transport_route_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_company_transport_route_ma_company_id_idx ON tbl_company_transport_route_ma (company_id);

CREATE TABLE IF NOT EXISTS tbl_company_warehouse_map (
    id bigserial PRIMARY KEY,
    company_id bigint,
    warehouse_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_company_warehouse_map_company_id_idx ON tbl_company_warehouse_map (company_id);
CREATE INDEX IF NOT EXISTS tbl_company_warehouse_map_warehouse_id_idx ON tbl_company_warehouse_map (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_consumer_sender_info (
    id bigserial PRIMARY KEY,
    ciid bigint,
    pkg_id bigint,
    express_bill_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_consumer_sender_info_ciid_idx ON tbl_consumer_sender_info (ciid);
CREATE INDEX IF NOT EXISTS tbl_consumer_sender_info_pkg_id_idx ON tbl_consumer_sender_info (pkg_id);
CREATE INDEX IF NOT EXISTS tbl_consumer_sender_info_express_bill_id_idx ON tbl_consumer_sender_info (express_bill_id);

CREATE TABLE IF NOT EXISTS tbl_courier (
    id bigserial PRIMARY KEY,
    job_num varchar(50),
    name varchar(50),
    birathday timestamp(0),
    tel varchar(20),
    pda_num varchar(50),
    car_id bigint,
    postal_standard_id bigint,
    work_time_id bigint,
    dot_id bigint,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_courier_dot_id_idx ON tbl_courier (dot_id);

CREATE TABLE IF NOT EXISTS tbl_deliver_package (
    id bigserial PRIMARY KEY,
    emp_id bigint,
    waybill_id bigint,
    waybill_number varchar(100),
    express_bill_id bigint,
    express_bill_number varchar(100),
    package_id bigint,
    collect_package_dt timestamp(0),
    rece_type bigint,
    rece_dt timestamp(0),
    state bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_deliver_package_waybill_id_idx ON tbl_deliver_package (waybill_id);
CREATE INDEX IF NOT EXISTS tbl_deliver_package_waybill_number_idx ON tbl_deliver_package (waybill_number);
CREATE INDEX IF NOT EXISTS tbl_deliver_package_express_bill_id_idx ON tbl_deliver_package (express_bill_id);
CREATE INDEX IF NOT EXISTS tbl_deliver_package_express_bill_number_idx ON tbl_deliver_package (express_bill_number);

CREATE TABLE IF NOT EXISTS tbl_deliver_region (
    id bigserial PRIMARY KEY,
    search_keyword varchar(100),
    search_assist_keyword varchar(100),
    area_id bigint,
    fixed_area_id bigint,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_delivery_record (
    id bigserial PRIMARY KEY,
    cur_warehouse_id varchar(50),
    vehicle_id bigint,
    start_vehicle_dt timestamp(0),
    next_warehouse_id bigint,
    predict_arrivals_dt timestamp(0),
    actua_arrivals_dt timestamp(0),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_department (
    id bigserial PRIMARY KEY,
    dep_name varchar(50),
    dep_level bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_dot (
    id bigserial PRIMARY KEY,
    dot_number varchar(50),
    dot_name varchar(50),
    dot_addr varchar(100),
    dot_gis_addr varchar(100),
    dot_tel varchar(20),
    company_id bigint,
    manage_area_id bigint,
    manage_area_gis varchar(100),
    state bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_dot_company_id_idx ON tbl_dot (company_id);
CREATE INDEX IF NOT EXISTS tbl_dot_manage_area_id_idx ON tbl_dot (manage_area_id);

CREATE TABLE IF NOT EXISTS tbl_dot_transport_tool (
    id bigserial PRIMARY KEY,
    dot_id bigint,
    transport_tool_id bigint,
    allocate_dt timestamp(0),
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_dot_transport_tool_dot_id_idx ON tbl_dot_transport_tool (dot_id);
CREATE INDEX IF NOT EXISTS tbl_dot_transport_tool_transport_tool_id_idx ON tbl_dot_transport_tool (transport_tool_id);

CREATE TABLE IF NOT EXISTS tbl_driver (
    id bigserial PRIMARY KEY,
    job_number varchar(50),
    name varchar(50),
    gender varchar(100),
    birathday timestamp(0),
    state bigint,
    driver_license_number varchar(100),
    driver_license_type bigint,
    get_driver_license_dt timestamp(0),
    car_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_emp (
    id bigserial PRIMARY KEY,
    emp_number varchar(50),
    emp_name varchar(50),
    emp_gender integer,
    emp_birathday timestamp(0),
    state bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_emp_info_map (
    id bigserial PRIMARY KEY,
    company_id bigint,
    dot_id bigint,
    emp_id bigint,
    job_id bigint,
    dep_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_emp_info_map_company_id_idx ON tbl_emp_info_map (company_id);
CREATE INDEX IF NOT EXISTS tbl_emp_info_map_dot_id_idx ON tbl_emp_info_map (dot_id);

CREATE TABLE IF NOT EXISTS tbl_express_bill (
    id bigserial PRIMARY KEY,
    express_number varchar(50),
    cid bigint,
    eid bigint,
    order_channel_id bigint,
    order_dt timestamp(0),
    order_terminal_type integer,
    order_terminal_os_type integer,
    reserve_dt timestamp(0),
    is_collect_package_timeout integer,
    timeout_dt timestamp(0),
    type integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_express_bill_express_number_idx ON tbl_express_bill (express_number);
CREATE INDEX IF NOT EXISTS tbl_express_bill_cid_idx ON tbl_express_bill (cid);
CREATE INDEX IF NOT EXISTS tbl_express_bill_eid_idx ON tbl_express_bill (eid);

CREATE TABLE IF NOT EXISTS tbl_express_package (
    id bigserial PRIMARY KEY,
    scan_gun_id varchar(19),
    name varchar(50),
    cid numeric(10,2),
    weight numeric(10,2),
    amount numeric(10,2),
    coupon_id bigint,
    coupon_amount numeric(10,2),
    actual_amount numeric(10,2),
    insured_price numeric(10,2),
    is_fragile varchar(20),
    send_address_id bigint,
    recv_address_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_express_package_cid_idx ON tbl_express_package (cid);

CREATE TABLE IF NOT EXISTS tbl_fixed_area (
    id bigserial PRIMARY KEY,
    name varchar(50),
    emp_id bigint,
    operator_dt timestamp(0),
    operator_id bigint,
    gis_fence varchar(200),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_goods_rack (
    id bigserial PRIMARY KEY,
    warehouse_name varchar(50),
    warehouse_addr varchar(100),
    warehouse_addr_gis varchar(50),
    company_id bigint,
    employee_id varchar(200),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_goods_rack_company_id_idx ON tbl_goods_rack (company_id);

CREATE TABLE IF NOT EXISTS tbl_job (
    id bigserial PRIMARY KEY,
    job_name varchar(50),
    job_level bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_out_warehouse (
    id bigserial PRIMARY KEY,
    pw_waybill_id bigint,
    pw_waybill_number varchar(100),
    ow_dot_id bigint,
    warehouse_id bigint,
    ow_vehicle_id bigint,
    ow_driver_emp_id bigint,
    ow_follow1_emp_id bigint,
    ow_follow2_emp_id bigint,
    ow_start_dt timestamp(0),
    ow_end_dt timestamp(0),
    ow_position varchar(50),
    ow_reg_emp_id bigint,
    ow_reg_scan_gun_id bigint,
    ow_confirm_emp_id bigint,
    ow_confirm_scan_gun_id bigint,
    ow_pre_seal_img varchar(100),
    ow_receipt_number varchar(100),
    ow_receipt_dt timestamp(0),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_out_warehouse_pw_waybill_number_idx ON tbl_out_warehouse (pw_waybill_number);
CREATE INDEX IF NOT EXISTS tbl_out_warehouse_warehouse_id_idx ON tbl_out_warehouse (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_out_warehouse_detail (
    id bigserial PRIMARY KEY,
    push_warehouse_id bigint,
    push_warehouse_bill varchar(100),
    warehouse_id bigint,
    waybill_id bigint,
    pkg_id bigint,
    pkg_desc varchar(100),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_out_warehouse_detail_warehouse_id_idx ON tbl_out_warehouse_detail (warehouse_id);
CREATE INDEX IF NOT EXISTS tbl_out_warehouse_detail_waybill_id_idx ON tbl_out_warehouse_detail (waybill_id);
CREATE INDEX IF NOT EXISTS tbl_out_warehouse_detail_pkg_id_idx ON tbl_out_warehouse_detail (pkg_id);

CREATE TABLE IF NOT EXISTS tbl_pkg (
    id bigserial PRIMARY KEY,
    pw_bill varchar(50),
    pw_dot_id bigint,
    warehouse_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_pkg_pw_bill_idx ON tbl_pkg (pw_bill);
CREATE INDEX IF NOT EXISTS tbl_pkg_pw_dot_id_idx ON tbl_pkg (pw_dot_id);
CREATE INDEX IF NOT EXISTS tbl_pkg_warehouse_id_idx ON tbl_pkg (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_postal_standard (
    id bigserial PRIMARY KEY,
    name varchar(50),
    min_weight varchar(50),
    min_length varchar(50),
    max_length varchar(50),
    trajectory varchar(50),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_push_warehouse (
    id bigserial PRIMARY KEY,
    pw_waybill_id bigint,
    pw_waybill_number varchar(50),
    pw_dot_id bigint,
    warehouse_id bigint,
    emp_id bigint,
    pw_start_dt timestamp(0),
    pw_end_dt timestamp(0),
    pw_position varchar(50),
    pw_reg_emp_id bigint,
    ow_reg_emp_scan_gun_id bigint,
    pw_confirm_emp_id bigint,
    ow_confirm_emp_scan_gun_id bigint,
    pw_box_emp_id bigint,
    pw_box_scan_gun_id bigint,
    pw_after_seal_img varchar(100),
    pw_receipt_number varchar(100),
    pw_receipt_dt timestamp(0),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_push_warehouse_pw_waybill_number_idx ON tbl_push_warehouse (pw_waybill_number);
CREATE INDEX IF NOT EXISTS tbl_push_warehouse_pw_dot_id_idx ON tbl_push_warehouse (pw_dot_id);
CREATE INDEX IF NOT EXISTS tbl_push_warehouse_warehouse_id_idx ON tbl_push_warehouse (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_push_warehouse_detail (
    id bigserial PRIMARY KEY,
    push_warehouse_id bigint,
    push_warehouse_bill varchar(50),
    warehouse_id bigint,
    pw_start_dt varchar(50),
    pw_end_dt varchar(50),
    pack_id bigint,
    pack_desc varchar(50),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_push_warehouse_detail_warehouse_id_idx ON tbl_push_warehouse_detail (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_route (
    id bigserial PRIMARY KEY,
    start_station varchar(50),
    start_station_area_id bigint,
    start_warehouse_id bigint,
    end_station varchar(50),
    end_station_area_id bigint,
    end_warehouse_id bigint,
    mileage_m integer,
    time_consumer_minute integer,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_route_start_warehouse_id_idx ON tbl_route (start_warehouse_id);
CREATE INDEX IF NOT EXISTS tbl_route_end_warehouse_id_idx ON tbl_route (end_warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_service_evaluation (
    id bigserial PRIMARY KEY,
    express_bill_id varchar(100),
    express_bill bigint,
    pack_score integer,
    delivery_time_score integer,
    courier_score integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_service_evaluation_express_bill_id_idx ON tbl_service_evaluation (express_bill_id);

CREATE TABLE IF NOT EXISTS tbl_store_grid (
    id bigserial PRIMARY KEY,
    warehouse_name varchar(50),
    warehouse_addr varchar(100),
    warehouse_addr_gis varchar(50),
    company_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_store_grid_company_id_idx ON tbl_store_grid (company_id);

CREATE TABLE IF NOT EXISTS tbl_transport_record (
    id bigserial PRIMARY KEY,
    pw_id bigint,
    pw_waybill_id bigint,
    pw_waybill_number varchar(100),
    ow_id bigint,
    ow_waybill_id bigint,
    ow_waybill_number varchar(100),
    sw_id bigint,
    ew_id bigint,
    transport_tool_id bigint,
    pw_driver1_id bigint,
    pw_driver2_id bigint,
    pw_driver3_id bigint,
    ow_driver1_id bigint,
    ow_driver2_id bigint,
    ow_driver3_id bigint,
    route_id bigint,
    distance integer,
    duration integer,
    state integer,
    start_vehicle_dt timestamp(0),
    predict_arrivals_dt timestamp(0),
    actual_arrivals_dt timestamp(0),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_transport_record_pw_waybill_number_idx ON tbl_transport_record (pw_waybill_number);
CREATE INDEX IF NOT EXISTS tbl_transport_record_sw_id_idx ON tbl_transport_record (sw_id);
CREATE INDEX IF NOT EXISTS tbl_transport_record_ew_id_idx ON tbl_transport_record (ew_id);
CREATE INDEX IF NOT EXISTS tbl_transport_record_transport_tool_id_idx ON tbl_transport_record (transport_tool_id);
CREATE INDEX IF NOT EXISTS tbl_transport_record_route_id_idx ON tbl_transport_record (route_id);

CREATE TABLE IF NOT EXISTS tbl_transport_tool (
    id bigserial PRIMARY KEY,
    brand varchar(100),
    model varchar(100),
    type bigint,
    given_load varchar(100),
    load_cn_unit varchar(100),
    load_en_unit varchar(100),
    buy_dt timestamp(0),
    license_plate varchar(100),
    state varchar(100),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_vehicle_monitor (
    id bigserial PRIMARY KEY,
    delivery_record bigint,
    "empId" bigint,
    express_bill__id varchar(200),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_warehouse (
    id bigserial PRIMARY KEY,
    name varchar(50),
    addr varchar(19),
    addr_gis varchar(50),
    company_id bigint,
    employee_id bigint,
    type integer,
    area varchar(50),
    is_lease integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_company_id_idx ON tbl_warehouse (company_id);

CREATE TABLE IF NOT EXISTS tbl_warehouse_emp (
    id bigserial PRIMARY KEY,
    job_num varchar(50),
    name varchar(50),
    birathday timestamp(0),
    tel varchar(20),
    type integer,
    warehouse_id bigint,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_emp_warehouse_id_idx ON tbl_warehouse_emp (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_warehouse_rack_map (
    id bigserial PRIMARY KEY,
    warehouse_name varchar(50),
    warehouse_addr varchar(100),
    warehouse_addr_gis varchar(50),
    company_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_rack_map_company_id_idx ON tbl_warehouse_rack_map (company_id);

CREATE TABLE IF NOT EXISTS tbl_warehouse_receipt (
    id bigserial PRIMARY KEY,
    bill varchar(100),
    type bigint,
    warehouse_id bigint,
    operator_id bigint,
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_receipt_warehouse_id_idx ON tbl_warehouse_receipt (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_warehouse_receipt_detail (
    id bigserial PRIMARY KEY,
    waybill_id bigint,
    pkg_id bigint,
    receipt_bill_id bigint,
    receipt_bill varchar(100),
    operator_id bigint,
    state bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_receipt_detail_waybill_id_idx ON tbl_warehouse_receipt_detail (waybill_id);
CREATE INDEX IF NOT EXISTS tbl_warehouse_receipt_detail_pkg_id_idx ON tbl_warehouse_receipt_detail (pkg_id);

CREATE TABLE IF NOT EXISTS tbl_warehouse_send_vehicle (
    id bigserial PRIMARY KEY,
    out_warehouse_id bigint,
    out_warehouse_waybill_id bigint,
    out_warehouse_waybill_number varchar(100),
    vehicle_id bigint,
    driver1_id bigint,
    driver2_id bigint,
    start_vehicle_dt timestamp(0),
    next_warehouse_id bigint,
    predict_arrivals_dt timestamp(0),
    actual_arrivals_dt timestamp(0),
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);

CREATE TABLE IF NOT EXISTS tbl_warehouse_transport_tool (
    id bigserial PRIMARY KEY,
    warehouse_id bigint,
    transport_tool_id bigint,
    allocate_dt timestamp(0),
    state integer,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_transport_tool_warehouse_id_idx ON tbl_warehouse_transport_tool (warehouse_id);
CREATE INDEX IF NOT EXISTS tbl_warehouse_transport_tool_transport_tool_id_idx ON tbl_warehouse_transport_tool (transport_tool_id);

CREATE TABLE IF NOT EXISTS tbl_warehouse_vehicle_map (
    id bigserial PRIMARY KEY,
    warehouse_id bigint,
    vehicle_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_warehouse_vehicle_map_warehouse_id_idx ON tbl_warehouse_vehicle_map (warehouse_id);

CREATE TABLE IF NOT EXISTS tbl_waybill (
    id bigserial PRIMARY KEY,
    express_bill_number varchar(100),
    waybill_number varchar(100),
    cid bigint,
    eid bigint,
    order_channel_id bigint,
    order_dt timestamp(0),
    order_terminal_type integer,
    order_terminal_os_type integer,
    reserve_dt timestamp(0),
    is_collect_package_timeout integer,
    pkg_id bigint,
    pkg_number varchar(100),
    timeout_dt varchar(100),
    transform_type integer,
    delivery_customer_name varchar(100),
    delivery_addr varchar(100),
    delivery_mobile varchar(100),
    delivery_tel varchar(100),
    receive_customer_name varchar(100),
    receive_addr varchar(100),
    receive_mobile varchar(100),
    receive_tel varchar(100),
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_waybill_express_bill_number_idx ON tbl_waybill (express_bill_number);
CREATE INDEX IF NOT EXISTS tbl_waybill_waybill_number_idx ON tbl_waybill (waybill_number);
CREATE INDEX IF NOT EXISTS tbl_waybill_cid_idx ON tbl_waybill (cid);
CREATE INDEX IF NOT EXISTS tbl_waybill_eid_idx ON tbl_waybill (eid);
CREATE INDEX IF NOT EXISTS tbl_waybill_pkg_id_idx ON tbl_waybill (pkg_id);

CREATE TABLE IF NOT EXISTS tbl_waybill_line (
    id bigserial PRIMARY KEY,
    waybill_number varchar(100),
    route_id bigint,
    serial_number varchar(100),
    transport_tool bigint,
    delivery_record_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_waybill_line_waybill_number_idx ON tbl_waybill_line (waybill_number);
CREATE INDEX IF NOT EXISTS tbl_waybill_line_route_id_idx ON tbl_waybill_line (route_id);

CREATE TABLE IF NOT EXISTS tbl_waybill_state_record (
    id bigserial PRIMARY KEY,
    waybill_id bigint,
    waybill_number varchar(100),
    employee_id varchar(100),
    consignee_id bigint,
    cur_warehouse_id integer,
    next_warehouse_id integer,
    deliverer_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_waybill_state_record_waybill_id_idx ON tbl_waybill_state_record (waybill_id);
CREATE INDEX IF NOT EXISTS tbl_waybill_state_record_waybill_number_idx ON tbl_waybill_state_record (waybill_number);

CREATE TABLE IF NOT EXISTS tbl_work_time (
    id bigserial PRIMARY KEY,
    name varchar(50),
    start_dt varchar(100),
    stop_dt varchar(100),
    saturday_start_dt varchar(100),
    saturday_stop_dt varchar(100),
    sunday_start_dt varchar(100),
    sunday_stop_dt varchar(100),
    state integer,
    company_id integer,
    operator_id bigint,
    cdt timestamp(0),
    udt timestamp(0),
    remark varchar(100)
);
CREATE INDEX IF NOT EXISTS tbl_work_time_company_id_idx ON tbl_work_time (company_id);
CREATE UNIQUE INDEX IF NOT EXISTS tbl_codes_type_code_key ON tbl_codes (type, code);
