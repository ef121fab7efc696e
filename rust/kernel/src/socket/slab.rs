//! Socket storage of a protocol table: sockets keyed by a small `u32` id, freed ids
//! reused most-recent first (ids are the table-local handles in `SockRef`).

pub struct SockSlab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for SockSlab<T> {
    fn default() -> Self {
        Self { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T> SockSlab<T> {
    /// Stores `s` and returns its id.
    pub fn insert(&mut self, s: T) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(s);
                id
            }
            None => {
                self.slots.push(Some(s));
                (self.slots.len() - 1) as u32
            }
        }
    }

    pub fn get(&self, id: u32) -> Option<&T> {
        self.slots.get(id as usize).and_then(|s| s.as_ref())
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.slots.get_mut(id as usize).and_then(|s| s.as_mut())
    }

    /// Takes the socket out and frees its id; `None` if there is none.
    pub fn remove(&mut self, id: u32) -> Option<T> {
        let s = self.slots.get_mut(id as usize)?.take()?;
        self.free.push(id);
        Some(s)
    }

    /// The sockets with their ids, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| Some((i as u32, s.as_ref()?)))
    }

    /// Number of sockets stored.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
