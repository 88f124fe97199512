//! `topic create|delete BOOTSTRAP TOPIC`: the runner's fresh one-partition topic before each
//! client's run, and its removal after (so that the in-memory broker holds one run's data at a
//! time), through kwire's admin calls. The same for every client.

use kwire_connector::client::Client;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, bootstrap, topic] = args.as_slice() else {
        eprintln!("usage: topic create|delete BOOTSTRAP TOPIC");
        std::process::exit(2);
    };
    let client = Client::builder()
        .bootstrap(bootstrap)
        .build()
        .await
        .expect("connect");
    match what.as_str() {
        "create" => client.create_topic(topic, 1, 1).await.expect("create topic"),
        "delete" => client.delete_topic(topic).await.expect("delete topic"),
        _ => {
            eprintln!("usage: topic create|delete BOOTSTRAP TOPIC");
            std::process::exit(2);
        }
    }
}
