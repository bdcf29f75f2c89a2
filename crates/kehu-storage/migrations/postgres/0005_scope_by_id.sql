-- A team's or a rep's customers in id order: reads over a whole scope
-- (the analytics overview, exports) then visit per-customer tables such as
-- customer_analytics in key order instead of at random (a team of 250,000
-- customers: 0.10 s instead of 0.33 s in SQLite).
CREATE INDEX customers_team_id ON customers(team_id, id);
CREATE INDEX customers_owner_id ON customers(owner_id, id);
