-- Conversations in progress, each user's last department, and the decision log.
CREATE TABLE conversations (
    channel TEXT, chat TEXT, user_id TEXT, state TEXT, updated_at FLOAT,
    PRIMARY KEY (channel, chat, user_id)
);
CREATE TABLE profiles (
    channel TEXT, user_id TEXT, last_department TEXT, updated_at FLOAT,
    PRIMARY KEY (channel, user_id)
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    created_at FLOAT NOT NULL,
    channel TEXT NOT NULL,
    chat TEXT,
    user_id TEXT NOT NULL,
    role TEXT,
    lang TEXT,
    kind TEXT,
    title TEXT,
    department TEXT,
    partner TEXT,
    partner_id TEXT,
    destination TEXT,
    outcome TEXT NOT NULL,
    focus_area TEXT NOT NULL,
    advisories TEXT,
    reasons TEXT,
    guidelines TEXT,
    answers TEXT,
    rules_version TEXT NOT NULL,
    transcript TEXT,
    co2 TEXT
);
CREATE INDEX idx_decisions_created_at ON decisions (created_at);
CREATE INDEX idx_decisions_channel_user_id_created_at ON decisions (channel, user_id, created_at);
