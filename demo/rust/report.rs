//! Summarises a CSV of orders: total per customer, printed as a table.

use std::collections::HashMap;
use std::fs;

fn parse_line(line: &str) -> (String, f64) {
    let mut fields = line.split(',');
    let customer = fields.next().unwrap().to_owned();
    let amount: f64 = fields.next().unwrap().trim().parse().unwrap();
    (customer, amount)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "orders.csv".to_owned());
    let text = fs::read_to_string(&path).expect(&format!("cannot read {path}"));
    let mut totals: HashMap<String, f64> = HashMap::new();
    for line in text.lines().skip(1) {
        let (customer, amount) = parse_line(line);
        *totals.entry(customer).or_default() += dbg!(amount);
    }
    let count = totals.keys().collect::<Vec<_>>().len();
    for (customer, total) in &totals {
        let label = format!("{}", customer);
        println!("{label:<20} {total:>10.2}");
    }
    println!("{count} customers");
}

fn export(_totals: &HashMap<String, f64>) {
    todo!()
}
