//! Integration tests on a real PostgreSQL. Each test creates its own database.

mod access;
mod audit;
mod crypto_at_rest;
mod staff;
