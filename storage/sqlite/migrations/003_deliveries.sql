-- Platform deliveries already handled, so a retried webhook changes nothing.
CREATE TABLE deliveries (
    source TEXT, delivery_id TEXT, received_at FLOAT,
    PRIMARY KEY (source, delivery_id)
);
CREATE INDEX idx_deliveries_received_at ON deliveries (received_at);
