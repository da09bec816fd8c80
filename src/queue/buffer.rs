//! [`Buffer`]: the storage order of a queue (FIFO, LIFO, priority).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Where a queue keeps its items, and in which order they come out.
pub(crate) trait Buffer<T> {
    fn new() -> Self;
    fn len(&self) -> usize;
    fn push(&mut self, item: T);
    fn pop(&mut self) -> Option<T>;
    fn peek(&self) -> Option<&T>;
    /// Puts back an item that was taken for a getter that could not keep
    /// it, so that it is the next one out again.
    fn put_back(&mut self, item: T);
}

/// FIFO.
impl<T> Buffer<T> for VecDeque<T> {
    fn new() -> Self {
        VecDeque::new()
    }
    #[inline]
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
    #[inline]
    fn push(&mut self, item: T) {
        self.push_back(item)
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn peek(&self) -> Option<&T> {
        self.front()
    }
    fn put_back(&mut self, item: T) {
        self.push_front(item)
    }
}

/// LIFO.
impl<T> Buffer<T> for Vec<T> {
    fn new() -> Self {
        Vec::new()
    }
    #[inline]
    fn len(&self) -> usize {
        Vec::len(self)
    }
    #[inline]
    fn push(&mut self, item: T) {
        Vec::push(self, item)
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn peek(&self) -> Option<&T> {
        self.last()
    }
    fn put_back(&mut self, item: T) {
        Vec::push(self, item)
    }
}

/// Smallest first (a min-heap, like Python's `heapq`).
impl<T: Ord> Buffer<T> for BinaryHeap<Reverse<T>> {
    fn new() -> Self {
        BinaryHeap::new()
    }
    #[inline]
    fn len(&self) -> usize {
        BinaryHeap::len(self)
    }
    #[inline]
    fn push(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item))
    }
    #[inline]
    fn pop(&mut self) -> Option<T> {
        BinaryHeap::pop(self).map(|r| r.0)
    }
    fn peek(&self) -> Option<&T> {
        BinaryHeap::peek(self).map(|r| &r.0)
    }
    fn put_back(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item))
    }
}
