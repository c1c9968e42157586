//! dugong-tokio's `crawl` example: a whole site over one pipelined
//! connection.

use dugong_tests::example;

fn crawl(args: &[&str]) -> Vec<String> {
    let output = example("dugong-tokio", "crawl")
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn crawl_fetches_the_built_in_site_once_per_page() {
    for depth in ["16", "1"] {
        let lines = crawl(&["--depth", depth]);
        let (summary, pages) = lines.split_last().unwrap();
        assert!(
            summary.starts_with("42 pages (")
                && summary.contains(" in 5 pipelined rounds over one connection, 1 broken"),
            "{summary}"
        );
        assert_eq!(pages.len(), 42);
        assert_eq!(pages[0], "200 178 /", "the start page first");
        assert!(pages.iter().any(|l| l == "404 9 /missing"));
        let mut paths: Vec<&str> = pages
            .iter()
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), 42, "no page fetched twice");
    }
}

#[test]
fn crawl_rejects_bad_arguments() {
    for args in [
        &["--depth", "0"][..],
        &["--bogus"],
        &["http://a/", "http://b/"],
    ] {
        let output = example("dugong-tokio", "crawl")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}
