//! Packet texts recycled between the emitting threads and the connection tasks.
//!
//! An emit's text is written on the emitter's thread and framed by the connection task,
//! which used to free it: each emit was a `malloc` on one thread and a `free` on another
//! (glibc then returns the block to the emitter's arena under that arena's lock, so both
//! threads took it per emit). The connection task now keeps the texts it framed
//! ([`keep`]), hands them back through its command queue once per flush, and an emitter
//! whose own stock is empty takes the queue's whole stock when it queues a command
//! ([`restock`]); [`take`] gives a text from that stock.
//!
//! Bounds: at most [`MAX_TEXTS`] texts of at most [`MAX_TEXT_CAPACITY`] bytes each in a
//! thread's stock, a queue's stock and a connection task's kept texts (256 KiB each at
//! worst, what a full command queue of such emits holds anyway); a larger text, or one
//! beyond the count, is freed as before. A connection that never emits keeps none.

use std::cell::RefCell;

/// Texts kept in one stock: a full command queue's worth (`command_capacity`'s default).
/// An emitter faster than the connection task fills the queue, then refills half of it at
/// each wake-up: a smaller stock (64 was tried) ran dry within each refill, and most emits
/// allocated again.
pub(crate) const MAX_TEXTS: usize = 1024;

/// The largest text (its capacity, in bytes) worth keeping: a typical emit's.
pub(crate) const MAX_TEXT_CAPACITY: usize = 256;

thread_local! {
    /// This thread's stock, filled by [`restock`].
    static STOCK: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// An empty text with room for `capacity` bytes: from this thread's stock when it has one
/// (grown if needed), else new.
pub(crate) fn take(capacity: usize) -> String {
    let kept = STOCK
        .try_with(|stock| stock.borrow_mut().pop())
        .ok()
        .flatten();
    match kept {
        Some(mut text) => {
            text.reserve(capacity);
            text
        }
        None => String::with_capacity(capacity),
    }
}

/// Moves `spare` (a queue's stock) into this thread's stock when that is empty.
pub(crate) fn restock(spare: &mut Vec<String>) {
    if spare.is_empty() {
        return;
    }
    let _ = STOCK.try_with(|stock| {
        if let Ok(mut stock) = stock.try_borrow_mut() {
            if stock.is_empty() {
                std::mem::swap(&mut *stock, spare);
            }
        }
    });
}

/// Keeps `text`, emptied, in `kept` unless it is too large or `kept` is full.
pub(crate) fn keep(kept: &mut Vec<String>, mut text: String) {
    if text.capacity() <= MAX_TEXT_CAPACITY && kept.len() < MAX_TEXTS {
        text.clear();
        kept.push(text);
    }
}

/// Moves what `kept` holds into `spare` (a queue's stock), up to [`MAX_TEXTS`] in all;
/// `kept` is left empty.
pub(crate) fn give_back(kept: &mut Vec<String>, spare: &mut Vec<String>) {
    if spare.is_empty() {
        std::mem::swap(kept, spare);
        return;
    }
    let room = MAX_TEXTS.saturating_sub(spare.len());
    spare.extend(kept.drain(..).take(room));
    kept.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_text_is_emptied_and_large_ones_or_extra_ones_are_not_kept() {
        let mut kept = Vec::new();
        keep(&mut kept, String::from("42[\"e\"]"));
        assert_eq!(kept, vec![String::new()]);
        keep(&mut kept, String::with_capacity(MAX_TEXT_CAPACITY + 1));
        assert_eq!(kept.len(), 1);
        for _ in 0..2 * MAX_TEXTS {
            keep(&mut kept, String::with_capacity(8));
        }
        assert_eq!(kept.len(), MAX_TEXTS);
    }

    #[test]
    fn giving_back_fills_the_spare_stock_up_to_its_bound() {
        let mut kept = (0..3).map(|_| String::with_capacity(8)).collect::<Vec<_>>();
        let mut spare = Vec::new();
        give_back(&mut kept, &mut spare);
        assert_eq!((kept.len(), spare.len()), (0, 3));
        let mut kept = (0..MAX_TEXTS)
            .map(|_| String::with_capacity(8))
            .collect::<Vec<_>>();
        give_back(&mut kept, &mut spare);
        assert_eq!((kept.len(), spare.len()), (0, MAX_TEXTS));
    }

    #[test]
    fn a_thread_takes_the_spare_stock_only_once_its_own_is_empty() {
        std::thread::spawn(|| {
            let mut spare = (0..2)
                .map(|_| String::with_capacity(100))
                .collect::<Vec<_>>();
            restock(&mut spare);
            assert!(spare.is_empty());
            let mut more = vec![String::with_capacity(100)];
            restock(&mut more);
            assert_eq!(more.len(), 1, "the thread's stock was not empty");
            let first = take(10);
            assert!(first.is_empty() && first.capacity() >= 100);
            let _second = take(10);
            let new = take(10);
            assert!(new.capacity() >= 10);
            restock(&mut more);
            assert!(more.is_empty());
        })
        .join()
        .unwrap();
    }
}
