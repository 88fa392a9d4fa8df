-- phi-db:allow-destructive rolls back 20261122015_ecommerce in local/dev: drops the optional e-commerce tables and the measurement link
-- 20261122015_ecommerce.down.sql: reverses 20261122015_ecommerce.sql.
alter table app.measurements drop column if exists order_item_id;
drop table if exists app.cart_items;
drop table if exists app.order_items;
drop table if exists app.orders;
drop table if exists app.products;
