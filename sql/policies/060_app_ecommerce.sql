-- policies/060_app_ecommerce.sql
-- What: row-level security and table privileges for the optional e-commerce module (writes are also
-- gated by the module switch, tenant.require_module, SQLSTATE PHM01).
--   products     members of the organization read active products; admins manage the catalogue.
--   orders       the patient reads and places their own orders; admins read and update (fulfil)
--                the organization's. Orders of health products are PHI: providers, research
--                partners and developers see none.
--   order_items  follow their order: the patient reads and adds items of their own orders; admins
--                read and update those of the organization.
--   cart_items   the patient only.
-- Grants and policies together: each table's privileges are set in this file, next to its policies:
-- `revoke all` from PUBLIC and every NOLOGIN role of the access model, then `grant` exactly the commands
-- a policy lets the role use (the migrator's checks fail on a privilege no policy backs and on a policy
-- whose privilege is missing). Re-running the file converges any database, whatever it held before.

-- app.products -------------------------------------------------------------------------------------
revoke all on app.products from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.products to authenticated;

drop policy if exists member_select on app.products;
create policy member_select on app.products for select to authenticated
  using (is_active and organization_id = any ((select tenant.rls_org_ids())::uuid[]));

drop policy if exists admin_select on app.products;
create policy admin_select on app.products for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_insert on app.products;
create policy admin_insert on app.products for insert to authenticated
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on app.products;
create policy admin_update on app.products for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_delete on app.products;
create policy admin_delete on app.products for delete to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

-- app.orders ---------------------------------------------------------------------------------------
revoke all on app.orders from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on app.orders to authenticated;

drop policy if exists patient_select on app.orders;
create policy patient_select on app.orders for select to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));
drop policy if exists patient_insert on app.orders;
create policy patient_insert on app.orders for insert to authenticated
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]) and status = 'pending');

drop policy if exists admin_select on app.orders;
create policy admin_select on app.orders for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on app.orders;
create policy admin_update on app.orders for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

-- app.order_items ----------------------------------------------------------------------------------
revoke all on app.order_items from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update on app.order_items to authenticated;

drop policy if exists patient_select on app.order_items;
create policy patient_select on app.order_items for select to authenticated
  using (order_id = any ((select app.rls_own_order_ids())::uuid[]));
drop policy if exists patient_insert on app.order_items;
create policy patient_insert on app.order_items for insert to authenticated
  with check (order_id = any ((select app.rls_own_order_ids())::uuid[]));

drop policy if exists admin_select on app.order_items;
create policy admin_select on app.order_items for select to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));
drop policy if exists admin_update on app.order_items;
create policy admin_update on app.order_items for update to authenticated
  using (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]))
  with check (organization_id = any ((select tenant.rls_org_ids(array['admin']))::uuid[]));

-- app.cart_items -----------------------------------------------------------------------------------
revoke all on app.cart_items from public, anon, authenticated, service_role, auditor, analytics_reader;
grant select, insert, update, delete on app.cart_items to authenticated;

drop policy if exists patient_select on app.cart_items;
create policy patient_select on app.cart_items for select to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));
drop policy if exists patient_insert on app.cart_items;
create policy patient_insert on app.cart_items for insert to authenticated
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]));
drop policy if exists patient_update on app.cart_items;
create policy patient_update on app.cart_items for update to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]))
  with check (patient_id = any ((select app.rls_patient_ids())::uuid[]));
drop policy if exists patient_delete on app.cart_items;
create policy patient_delete on app.cart_items for delete to authenticated
  using (patient_id = any ((select app.rls_patient_ids())::uuid[]));
