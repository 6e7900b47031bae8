use super::*;

fn ev(path: &str, kind: ChangeKind) -> ChangeEvent {
    ChangeEvent {
        zxid: 1,
        path: path.into(),
        kind,
        acl: std::sync::Arc::from(vec![jute::Acl::open()]),
    }
}

fn fired(w: &mut WatchManager, path: &str, kind: ChangeKind) -> Vec<(i64, i32)> {
    w.trigger(&ev(path, kind))
        .into_iter()
        .map(|(s, e)| (s, e.kind))
        .collect()
}

const CREATED: i32 = 1;
const DELETED: i32 = 2;
const CHANGED: i32 = 3;
const CHILDREN: i32 = 4;

#[test]
fn one_shot_data_watches_fire_once() {
    let mut w = WatchManager::default();
    w.add(1, "/a", Kind::Data);
    w.add(1, "/a", Kind::Data);
    w.add(2, "/a", Kind::Data);
    assert_eq!(
        fired(&mut w, "/a", ChangeKind::DataChanged),
        vec![(1, CHANGED), (2, CHANGED)]
    );
    assert!(
        fired(&mut w, "/a", ChangeKind::DataChanged).is_empty(),
        "one-shot"
    );
    assert_eq!(w.len(), 0);
}

#[test]
fn exist_watch_sees_creation_and_child_watch_ignores_data() {
    let mut w = WatchManager::default();
    w.add(1, "/new", Kind::Data);
    w.add(2, "/new", Kind::Child);
    assert_eq!(
        fired(&mut w, "/new", ChangeKind::Created),
        vec![(1, CREATED)]
    );
    assert!(fired(&mut w, "/new", ChangeKind::DataChanged).is_empty());
    assert_eq!(
        fired(&mut w, "/new", ChangeKind::ChildrenChanged),
        vec![(2, CHILDREN)]
    );
}

#[test]
fn delete_fires_data_and_child_watches_once_per_session() {
    let mut w = WatchManager::default();
    w.add(1, "/a", Kind::Data);
    w.add(1, "/a", Kind::Child);
    w.add(2, "/a", Kind::Child);
    assert_eq!(
        fired(&mut w, "/a", ChangeKind::Deleted),
        vec![(1, DELETED), (2, DELETED)]
    );
    assert_eq!(w.len(), 0);
}

#[test]
fn persistent_watches_stay_and_see_children() {
    let mut w = WatchManager::default();
    w.add(1, "/p", Kind::Persistent);
    for _ in 0..3 {
        assert_eq!(
            fired(&mut w, "/p", ChangeKind::DataChanged),
            vec![(1, CHANGED)]
        );
    }
    assert_eq!(
        fired(&mut w, "/p", ChangeKind::ChildrenChanged),
        vec![(1, CHILDREN)]
    );
    assert!(
        fired(&mut w, "/p/c", ChangeKind::Created).is_empty(),
        "not recursive"
    );
    assert_eq!(w.len(), 1);
}

#[test]
fn recursive_watches_cover_the_subtree_without_children_events() {
    let mut w = WatchManager::default();
    w.add(1, "/r", Kind::Recursive);
    w.add(2, "/", Kind::Recursive);
    assert_eq!(
        fired(&mut w, "/r/a/b", ChangeKind::Created),
        vec![(1, CREATED), (2, CREATED)]
    );
    assert_eq!(
        fired(&mut w, "/r", ChangeKind::DataChanged),
        vec![(1, CHANGED), (2, CHANGED)]
    );
    assert!(fired(&mut w, "/r", ChangeKind::ChildrenChanged).is_empty());
    assert_eq!(
        fired(&mut w, "/rx", ChangeKind::Deleted),
        vec![(2, DELETED)],
        "/rx is not under /r"
    );
    // Recursive plus a one-shot on the same path: one event, one-shot gone.
    w.add(1, "/r/a", Kind::Data);
    assert_eq!(
        fired(&mut w, "/r/a", ChangeKind::DataChanged),
        vec![(1, CHANGED), (2, CHANGED)]
    );
    assert_eq!(w.len(), 2);
}

#[test]
fn remove_and_check_by_type() {
    let mut w = WatchManager::default();
    w.add(1, "/a", Kind::Data);
    w.add(1, "/a", Kind::Child);
    w.add(1, "/a", Kind::Recursive);
    assert!(w.contains(1, "/a", WatcherType::Children));
    assert!(!w.contains(2, "/a", WatcherType::Any));
    assert!(w.remove(1, "/a", WatcherType::Children));
    assert!(
        !w.remove(1, "/a", WatcherType::Children),
        "nothing left: NOWATCHER"
    );
    assert!(w.remove(1, "/a", WatcherType::Any));
    assert!(
        fired(&mut w, "/a/b", ChangeKind::Created).is_empty(),
        "recursive removed too"
    );
    w.add(3, "/x", Kind::Recursive);
    w.add(3, "/y", Kind::Data);
    w.remove_session(3);
    assert_eq!(w.len(), 0);
    assert!(fired(&mut w, "/x/z", ChangeKind::Created).is_empty());
}

#[test]
fn a_sample_of_each_sessions_data_watches_agrees_with_the_full_list() {
    let mut w = WatchManager::default();
    for i in (0..250).rev() {
        w.add(1, &format!("/n{i:03}"), Kind::Data);
    }
    w.add(1, "/kids", Kind::Child);
    w.add(2, "/kids", Kind::Child);
    w.add(3, "/e", Kind::Data);
    w.add(3, "/p", Kind::Persistent);
    let sample = w.data_watches_sample(100);
    let (count, first) = &sample[&1];
    assert_eq!(*count, 250, "child watches are not data watches");
    let want: Vec<String> = (0..100).map(|i| format!("/n{i:03}")).collect();
    assert_eq!(first, &want, "the first 100 in path order");
    assert!(!sample.contains_key(&2), "only a child watch");
    assert_eq!(sample[&3], (2, vec!["/e".to_owned(), "/p".to_owned()]));
    // The same sessions and counts as the full view.
    let mut full: std::collections::BTreeMap<i64, usize> = std::collections::BTreeMap::new();
    for sessions in w.data_watches().values() {
        for s in sessions {
            *full.entry(*s).or_default() += 1;
        }
    }
    let counts: std::collections::BTreeMap<i64, usize> =
        sample.iter().map(|(s, (n, _))| (*s, *n)).collect();
    assert_eq!(counts, full);
}
