-- 20261122015_ecommerce.sql
-- What: the OPTIONAL e-commerce module (products, orders, order items, cart items) and the link
-- from a measurement to the order item it was taken with (e.g. a purchased test kit).
-- How it is optional: the tables always exist (one schema for every stack, so migrations and
-- checks are identical everywhere), but every write to them is refused with SQLSTATE PHM01 unless
-- tenant.instance_module_activations has 'ecommerce' active (tenant.require_module trigger). A stack
-- switches the module on with one audited row, not with a schema difference; the dev seed does it.
-- Why: the migration plan marks the module optional; rendering DDL conditionally would need a stack-level
-- "modules" placeholder and would make the schema (and its checks) differ between stacks.
-- Orders of health products are PHI (they reveal conditions): orders/items/cart are audited.

create table app.products (
  id                       uuid           not null default gen_random_uuid(),
  organization_id          uuid           not null,
  name                     text           not null,
  description              text,
  treatment_id             uuid,
  manufacturer             text,
  batch_lot_info           text,
  sku                      text           not null,
  price                    numeric(12, 2) not null,
  currency                 text           not null default 'USD',
  inventory_count          integer        not null default 0,
  is_prescription_required boolean        not null default false,
  is_active                boolean        not null default true,
  created_at               timestamptz    not null default now(),
  updated_at               timestamptz    not null default now(),
  constraint products_pkey primary key (id),
  constraint products_org_id_key unique (organization_id, id),
  constraint products_org_sku_key unique (organization_id, sku),
  constraint products_organization_fkey foreign key (organization_id)
    references tenant.organizations (id) on delete cascade,
  constraint products_treatment_fkey foreign key (treatment_id) references app.treatments (id) on delete set null,
  constraint products_name_not_blank check (length(btrim(name)) between 1 and 300),
  constraint products_sku_format check (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
  constraint products_price_nonnegative check (price >= 0),
  constraint products_currency_format check (currency ~ '^[A-Z]{3}$'),
  constraint products_inventory_nonnegative check (inventory_count >= 0)
);

comment on table app.products is 'E-commerce module (optional): products of an organization, traceable to a treatment and batch/lot. Not PHI.';

create index products_treatment_idx on app.products (treatment_id) where treatment_id is not null;

alter table app.products enable row level security, force row level security;
create policy baseline_deny_all on app.products as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.products for all to phi_owner using (true) with check (true);

create trigger require_module before insert or update on app.products
  for each row execute function tenant.require_module('ecommerce');
create trigger set_updated_at before update on app.products
  for each row execute function app.set_updated_at();

-- ---------------------------------------------------------------------------------------------

create table app.orders (
  id                 uuid           not null default gen_random_uuid(),
  organization_id    uuid           not null,
  patient_id         uuid           not null,
  status             text           not null default 'pending',
  ordered_at         timestamptz    not null default now(),
  total_amount       numeric(12, 2) not null default 0,
  currency           text           not null default 'USD',
  shipping_address   jsonb,
  billing_address    jsonb,
  payment_method_ref text,
  created_at         timestamptz    not null default now(),
  updated_at         timestamptz    not null default now(),
  constraint orders_pkey primary key (id),
  constraint orders_org_id_key unique (organization_id, id),
  constraint orders_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint orders_status_valid check (status in ('pending', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'refunded')),
  constraint orders_total_nonnegative check (total_amount >= 0),
  constraint orders_currency_format check (currency ~ '^[A-Z]{3}$'),
  constraint orders_addresses_objects check (
    (shipping_address is null or jsonb_typeof(shipping_address) = 'object')
    and (billing_address is null or jsonb_typeof(billing_address) = 'object')),
  constraint orders_payment_ref_not_card_number check (
    payment_method_ref is null or (payment_method_ref ~ '^[A-Za-z0-9_:-]{4,100}$' and payment_method_ref !~ '^[0-9 -]{12,23}$'))
);

comment on table app.orders is 'E-commerce module (optional): orders of a patient. Purchases of health products are PHI.';
comment on column app.orders.shipping_address is 'PHI: postal address (HIPAA identifier).';
comment on column app.orders.billing_address is 'PHI: billing address (HIPAA identifier).';
comment on column app.orders.ordered_at is 'PHI: when the patient ordered.';
comment on column app.orders.payment_method_ref is 'Payment processor token (never a card number: refused by a CHECK).';

create index orders_patient_idx on app.orders (patient_id, ordered_at desc);

alter table app.orders enable row level security, force row level security;
create policy baseline_deny_all on app.orders as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.orders for all to phi_owner using (true) with check (true);

create trigger require_module before insert or update on app.orders
  for each row execute function tenant.require_module('ecommerce');
create trigger set_updated_at before update on app.orders
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.orders
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.order_items (
  id              uuid           not null default gen_random_uuid(),
  organization_id uuid           not null,
  order_id        uuid           not null,
  product_id      uuid           not null,
  quantity        integer        not null,
  price_per_unit  numeric(12, 2) not null,
  batch_lot_info  text,
  created_at      timestamptz    not null default now(),
  updated_at      timestamptz    not null default now(),
  constraint order_items_pkey primary key (id),
  constraint order_items_org_id_key unique (organization_id, id),
  constraint order_items_order_fkey foreign key (organization_id, order_id)
    references app.orders (organization_id, id) on delete cascade,
  constraint order_items_product_fkey foreign key (organization_id, product_id)
    references app.products (organization_id, id) on delete restrict,
  constraint order_items_quantity_range check (quantity between 1 and 1000),
  constraint order_items_price_nonnegative check (price_per_unit >= 0)
);

comment on table app.order_items is 'E-commerce module (optional): lines of an order, with the batch/lot delivered (traceability). A sold product cannot be deleted (RESTRICT).';
comment on column app.order_items.product_id is 'PHI: what the patient bought (can reveal a condition).';

create index order_items_order_idx on app.order_items (order_id);
create index order_items_product_idx on app.order_items (product_id);

alter table app.order_items enable row level security, force row level security;
create policy baseline_deny_all on app.order_items as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.order_items for all to phi_owner using (true) with check (true);

create trigger require_module before insert or update on app.order_items
  for each row execute function tenant.require_module('ecommerce');
create trigger set_updated_at before update on app.order_items
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.order_items
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------

create table app.cart_items (
  id              uuid        not null default gen_random_uuid(),
  organization_id uuid        not null,
  patient_id      uuid        not null,
  product_id      uuid        not null,
  quantity        integer     not null,
  added_at        timestamptz not null default now(),
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint cart_items_pkey primary key (id),
  constraint cart_items_patient_product_key unique (patient_id, product_id),
  constraint cart_items_patient_fkey foreign key (organization_id, patient_id)
    references app.patients (organization_id, id) on delete cascade,
  constraint cart_items_product_fkey foreign key (organization_id, product_id)
    references app.products (organization_id, id) on delete cascade,
  constraint cart_items_quantity_range check (quantity between 1 and 1000)
);

comment on table app.cart_items is 'E-commerce module (optional): a patient''s shopping cart.';
comment on column app.cart_items.product_id is 'PHI: what the patient intends to buy (can reveal a condition).';

create index cart_items_product_idx on app.cart_items (product_id);

alter table app.cart_items enable row level security, force row level security;
create policy baseline_deny_all on app.cart_items as permissive for all to public using (false) with check (false);
create policy owner_full_access on app.cart_items for all to phi_owner using (true) with check (true);

create trigger require_module before insert or update on app.cart_items
  for each row execute function tenant.require_module('ecommerce');
create trigger set_updated_at before update on app.cart_items
  for each row execute function app.set_updated_at();
create trigger audit_changes after insert or update or delete on app.cart_items
  for each row execute function audit.log_change();

-- ---------------------------------------------------------------------------------------------
-- Measurement -> purchase (the migration plan's ALTER TABLE measurements ADD order_item_id)
-- ---------------------------------------------------------------------------------------------

alter table app.measurements add column order_item_id uuid;
alter table app.measurements add constraint measurements_order_item_fkey foreign key (organization_id, order_item_id)
  references app.order_items (organization_id, id) on delete set null (order_item_id);
comment on column app.measurements.order_item_id is 'The purchased item (e.g. a test kit) the measurement was taken with, when the e-commerce module is used.';
create index measurements_order_item_idx on app.measurements (order_item_id) where order_item_id is not null;
