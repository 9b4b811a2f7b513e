//! Integration tests on a real PostgreSQL. Each test creates its own database.

mod access;
mod access_http;
mod audit;
mod automation_rules;
mod capabilities;
mod consent_forms;
mod crypto_at_rest;
mod drafts;
mod entry_points;
mod faults_db;
mod faults_restart;
mod faults_webhooks;
mod hostile_http;
mod hostile_search;
mod icpc2;
mod onboarding;
mod onboarding_http;
mod partners;
mod queue;
mod referrals;
mod report;
mod results;
mod schema_dump;
mod staff;
mod two_services;
mod webhooks_out;
