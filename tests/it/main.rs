//! Integration tests on a real PostgreSQL. Each test creates its own database.

mod access;
mod audit;
mod crypto_at_rest;
mod icpc2;
mod staff;
mod queue;
mod referrals;
mod onboarding;
mod onboarding_http;
mod entry_points;
mod webhooks_out;
mod results;
mod report;
mod consent_forms;
mod hostile_http;
mod hostile_search;
mod access_http;
mod faults_db;
mod faults_restart;
mod faults_webhooks;
mod two_services;
mod drafts;
mod automation_rules;
mod partners;
