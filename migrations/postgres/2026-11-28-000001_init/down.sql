DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE members;
DROP TABLE roles;
