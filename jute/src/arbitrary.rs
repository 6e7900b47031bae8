//! proptest strategies for the field types of jute records (feature
//! `proptest`). Records get `Arbitrary` from the `record!` macro, which
//! combines these per field.

use bytes::Bytes;
use proptest::prelude::*;

/// A field type with a proptest strategy.
pub trait Field: Sized + std::fmt::Debug {
    /// Values of this field type, biased towards what real traffic holds.
    fn strategy() -> BoxedStrategy<Self>;
}

impl Field for i32 {
    fn strategy() -> BoxedStrategy<Self> {
        any::<i32>().boxed()
    }
}

impl Field for i64 {
    fn strategy() -> BoxedStrategy<Self> {
        any::<i64>().boxed()
    }
}

impl Field for bool {
    fn strategy() -> BoxedStrategy<Self> {
        any::<bool>().boxed()
    }
}

impl Field for String {
    fn strategy() -> BoxedStrategy<Self> {
        prop_oneof!["(/[a-z0-9._-]{1,8}){0,4}", any::<String>(),].boxed()
    }
}

impl Field for Bytes {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(Bytes::from)
            .boxed()
    }
}

impl Field for Option<Bytes> {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::option::of(Bytes::strategy()).boxed()
    }
}

impl Field for Option<String> {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::option::of(String::strategy()).boxed()
    }
}

impl<T: Field + 'static> Field for Vec<T> {
    fn strategy() -> BoxedStrategy<Self> {
        proptest::collection::vec(T::strategy(), 0..4).boxed()
    }
}

/// Records are fields of other records (`Stat` in `ExistsResponse`, `ACL` in
/// `CreateRequest`): their own `Arbitrary` strategy serves.
macro_rules! record_fields {
    ($($t:ty),* $(,)?) => {
        $(impl Field for $t {
            fn strategy() -> BoxedStrategy<Self> {
                any::<$t>()
            }
        })*
    };
}

record_fields!(
    crate::Id,
    crate::Acl,
    crate::Stat,
    crate::StatPersisted,
    crate::ClientInfo,
    crate::txn::Txn
);
