-- Steer the whole run (issue #55).
-- Costs at a glance (Costs/CostReport.cs): every usage event of a period, whichever session, read off their time.
CREATE INDEX events_usage_at ON events (at) WHERE kind = 'usage';
