// Hides the console window that Windows would otherwise open beside the app in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    digimed_console::run()
}
