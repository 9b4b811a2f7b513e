-- Support agents book consultations a partner pays for (a walk-in whose insurer covers the visit),
-- which opens the order and its line item. The order's total is kept by triggers that run as the
-- writer: they read the order's line items and write its total. Support agents may do exactly
-- that, and still read no prices, discounts or reasons of other orders beyond these columns.
GRANT SELECT (order_id, quantity, unit_price, discount) ON line_items TO customer_support;
GRANT UPDATE (total) ON orders TO customer_support;
