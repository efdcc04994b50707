//! Which blocks of a run may run together (`smelt run --jobs N`).
//!
//! Consecutive extract-load sets form one group that may run concurrently; a command block is a
//! barrier: it starts after everything before it ended, and what follows starts after it. Within
//! a group, [`SetQueue`] hands out sets in plan order, never two with the same state ID at once
//! (the second would be refused by the first one's claim), so those run in order.

use std::collections::{HashSet, VecDeque};

use crate::blocks::Block;

/// One step of a run: a group of sets, or one command block (a barrier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Plan positions of consecutive extract-load sets.
    Sets(Vec<usize>),
    /// The plan position of a command block.
    Command(usize),
}

/// Splits `blocks` into steps: runs of consecutive sets, with each command block on its own.
pub fn steps(blocks: &[Block]) -> Vec<Step> {
    group(blocks.iter().map(|b| matches!(b, Block::Elt(_))))
}

/// [`steps`] over "is this block a set?" flags.
fn group(is_set: impl Iterator<Item = bool>) -> Vec<Step> {
    let mut out = Vec::new();
    for (i, set) in is_set.enumerate() {
        match (set, out.last_mut()) {
            (true, Some(Step::Sets(v))) => v.push(i),
            (true, _) => out.push(Step::Sets(vec![i])),
            (false, _) => out.push(Step::Command(i)),
        }
    }
    out
}

/// The sets of one group waiting to start, and the state IDs of the ones running.
#[derive(Debug, Default)]
pub struct SetQueue {
    pending: VecDeque<(usize, String)>,
    running: HashSet<String>,
    keys: Vec<(usize, String)>,
}

impl SetQueue {
    /// A queue of `(plan position, state ID key)` in plan order.
    pub fn new(sets: Vec<(usize, String)>) -> SetQueue {
        SetQueue {
            pending: sets.iter().cloned().collect(),
            running: HashSet::new(),
            keys: sets,
        }
    }

    /// The next set that may start now: the first pending one whose state ID is neither
    /// running nor held by an earlier pending set. None when nothing may start yet.
    pub fn next_ready(&mut self) -> Option<usize> {
        let mut earlier = HashSet::new();
        let pos = self.pending.iter().position(|(_, key)| {
            let free = !self.running.contains(key) && !earlier.contains(key);
            earlier.insert(key.clone());
            free
        })?;
        let (index, key) = self.pending.remove(pos)?;
        self.running.insert(key);
        Some(index)
    }

    /// Records that the set at `index` ended, freeing its state ID.
    pub fn done(&mut self, index: usize) {
        if let Some((_, key)) = self.keys.iter().find(|(i, _)| *i == index) {
            self.running.remove(key);
        }
    }

    /// Whether no set is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Removes and returns every waiting set (they will not run).
    pub fn drain(&mut self) -> Vec<usize> {
        self.pending.drain(..).map(|(i, _)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_barriers_between_groups_of_sets() {
        let steps = group([true, true, false, true, false, false].into_iter());
        assert_eq!(
            steps,
            vec![
                Step::Sets(vec![0, 1]),
                Step::Command(2),
                Step::Sets(vec![3]),
                Step::Command(4),
                Step::Command(5),
            ]
        );
        assert!(group(std::iter::empty()).is_empty());
    }

    #[test]
    fn sets_start_in_plan_order_and_share_no_state_id() {
        let mut q = SetQueue::new(vec![
            (0, "a".into()),
            (1, "b".into()),
            (2, "a".into()),
            (3, "c".into()),
        ]);
        assert_eq!(q.next_ready(), Some(0));
        assert_eq!(q.next_ready(), Some(1));
        // 2 shares a's state ID with the running set 0: 3 may go first.
        assert_eq!(q.next_ready(), Some(3));
        assert_eq!(q.next_ready(), None);
        q.done(1);
        assert_eq!(q.next_ready(), None);
        q.done(0);
        assert_eq!(q.next_ready(), Some(2));
        assert!(q.is_empty());
    }

    #[test]
    fn a_later_set_never_overtakes_an_earlier_one_with_its_state_id() {
        let mut q = SetQueue::new(vec![(0, "a".into()), (1, "a".into()), (2, "a".into())]);
        assert_eq!(q.next_ready(), Some(0));
        assert_eq!(q.next_ready(), None);
        q.done(0);
        assert_eq!(q.next_ready(), Some(1));
        assert_eq!(q.drain(), vec![2]);
        assert!(q.is_empty());
    }
}
