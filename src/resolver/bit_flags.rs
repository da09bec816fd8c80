//! [`bit_flags!`]: the bit-flag newtypes of the resolver ([`AiFlags`],
//! [`NiFlags`]): constants, `empty`/`from_bits`/`bits`/`contains`/
//! `is_empty`, `|`, `|=` and a `Debug` that names the flags.
//!
//! [`AiFlags`]: super::AiFlags
//! [`NiFlags`]: super::NiFlags

/// Defines a public `i32` flags newtype: its docs, then one
/// `const NAME = value;` per flag with its docs. The first two flags serve
/// in the methods' examples.
macro_rules! bit_flags {
    (
        $(#[$outer:meta])*
        pub struct $name:ident;
        $(#[$m1:meta])* const $f1:ident = $v1:expr;
        $(#[$m2:meta])* const $f2:ident = $v2:expr;
        $( $(#[$m:meta])* const $f:ident = $v:expr; )*
    ) => {
        $(#[$outer])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name(i32);

        impl $name {
            $(#[$m1])* pub const $f1: $name = $name($v1);
            $(#[$m2])* pub const $f2: $name = $name($v2);
            $( $(#[$m])* pub const $f: $name = $name($v); )*

            /// No flags.
            ///
            /// ```
            #[doc = concat!("assert_eq!(gevent::resolver::", stringify!($name), "::empty().bits(), 0);")]
            /// ```
            pub const fn empty() -> $name {
                $name(0)
            }

            /// Flags from the C bits (unknown bits are kept and passed to libc).
            ///
            /// ```
            #[doc = concat!("use gevent::resolver::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::from_bits(", stringify!($v1), "), ", stringify!($name), "::", stringify!($f1), ");")]
            /// ```
            pub const fn from_bits(bits: i32) -> $name {
                $name(bits)
            }

            /// The C bits.
            ///
            /// ```
            #[doc = concat!("assert_eq!(gevent::resolver::", stringify!($name), "::", stringify!($f2), ".bits(), ", stringify!($v2), ");")]
            /// ```
            pub const fn bits(self) -> i32 {
                self.0
            }

            /// Whether every flag of `other` is set.
            ///
            /// ```
            #[doc = concat!("use gevent::resolver::", stringify!($name), ";")]
            #[doc = concat!("assert!((", stringify!($name), "::", stringify!($f1), " | ", stringify!($name), "::", stringify!($f2), ").contains(", stringify!($name), "::", stringify!($f1), "));")]
            /// ```
            pub const fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether no flag is set.
            ///
            /// ```
            #[doc = concat!("assert!(gevent::resolver::", stringify!($name), "::empty().is_empty());")]
            /// ```
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
        }

        impl std::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }

        impl std::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                self.0 |= rhs.0;
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let names = [
                    ($name::$f1.0, stringify!($f1)),
                    ($name::$f2.0, stringify!($f2)),
                    $( ($name::$f.0, stringify!($f)), )*
                ];
                $crate::resolver::bit_flags::fmt_flags(f, stringify!($name), self.0, &names)
            }
        }
    };
}

pub(super) use bit_flags;

/// `Name(A | B | 0x..)`: the set flags of `bits` by name, in `names`
/// order, then any unnamed bits in hex.
pub(super) fn fmt_flags(
    f: &mut std::fmt::Formatter<'_>,
    type_name: &str,
    bits: i32,
    names: &[(i32, &str)],
) -> std::fmt::Result {
    let mut rest = bits;
    let mut first = true;
    f.write_str(type_name)?;
    f.write_str("(")?;
    for &(flag, name) in names {
        if bits & flag == flag {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
            rest &= !flag;
        }
    }
    if rest != 0 {
        if !first {
            f.write_str(" | ")?;
        }
        write!(f, "{rest:#x}")?;
    }
    f.write_str(")")
}
