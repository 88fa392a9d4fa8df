-- seed/dev/050_demo_commerce_analytics.sql
-- What: demo data for the optional e-commerce module (active in dev, see 010_demo_tenants.sql) and
-- de-identified analytics metrics for the dashboards.

insert into app.products (id, organization_id, name, treatment_id, manufacturer, batch_lot_info, sku, price, inventory_count, is_prescription_required) values
  ('bf000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'Demo glucose test strips (50)', null, 'Gizmo Devices (fictional)', 'LOT-DEMO-001', 'DEMO-STRIPS-50', 19.90, 120, false),
  ('bf000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000001', 'Demo Magnesium 60 caps', 'f2000000-0000-4000-8000-000000000004', 'Vitamin Co (fictional)', 'LOT-DEMO-002', 'DEMO-MG-60', 12.50, 40, false)
on conflict (id) do nothing;

insert into app.orders (id, organization_id, patient_id, status, total_amount, shipping_address, payment_method_ref) values
  ('bf100000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'delivered', 19.90,
   '{"line1": "1 Example Street (fictional)", "city": "Sampletown", "postal_code": "00000", "country": "US"}', 'pm_demo_0001')
on conflict (id) do nothing;

insert into app.order_items (id, organization_id, order_id, product_id, quantity, price_per_unit, batch_lot_info) values
  ('bf200000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'bf100000-0000-4000-8000-000000000001', 'bf000000-0000-4000-8000-000000000001', 1, 19.90, 'LOT-DEMO-001')
on conflict (id) do nothing;

insert into app.cart_items (id, organization_id, patient_id, product_id, quantity) values
  ('bf300000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'bf000000-0000-4000-8000-000000000002', 2)
on conflict (id) do nothing;

update app.measurements
   set order_item_id = 'bf200000-0000-4000-8000-000000000001'
 where id = 'b6000000-0000-4000-8000-000000000001' and order_item_id is null;

insert into analytics.metrics (organization_id, metric_type, dimensions, period_granularity, period_start, period_end, value, sample_size)
select 'd0000000-0000-4000-8000-000000000001', m.metric_type, m.dimensions, 'day',
       date_trunc('day', now()) - make_interval(days => d), date_trunc('day', now()) - make_interval(days => d - 1),
       m.base + (d * 13) % 7, 25 + d
  from generate_series(1, 7) as d
  cross join (values
    ('appointments.completed', '{"modality": "telehealth"}'::jsonb, 12),
    ('mood.average_score',     '{}'::jsonb,                          6)
  ) as m(metric_type, dimensions, base)
on conflict (organization_id, metric_type, period_granularity, period_start, dimensions) do nothing;
