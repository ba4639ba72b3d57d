-- Climate figures as columns, so admins can total the CO2e that digital meetings avoided.
ALTER TABLE decisions ADD COLUMN co2_distance_km FLOAT;
ALTER TABLE decisions ADD COLUMN co2_planned_mode TEXT;
ALTER TABLE decisions ADD COLUMN co2_planned_kg FLOAT;
ALTER TABLE decisions ADD COLUMN co2_lowest_mode TEXT;
ALTER TABLE decisions ADD COLUMN co2_lowest_kg FLOAT;
ALTER TABLE decisions ADD COLUMN co2_avoided_kg FLOAT;
UPDATE decisions SET
    co2_distance_km = json_extract(co2, '$.distance_km'),
    co2_planned_mode = json_extract(co2, '$.planned_mode'),
    co2_planned_kg = json_extract(co2, '$.planned_kg'),
    co2_lowest_mode = json_extract(co2, '$.lowest_reasonable_mode'),
    co2_lowest_kg = json_extract(co2, '$.lowest_reasonable_kg'),
    co2_avoided_kg = json_extract(co2, '$.avoided_kg')
WHERE co2 IS NOT NULL AND co2 != 'null';
