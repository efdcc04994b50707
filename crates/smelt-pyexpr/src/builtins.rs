//! The functions an expression can call by name when the names do not define it
//! (simpleeval's DEFAULT_FUNCTIONS, the SDK's md5/sha256 and the datetime/json modules).

/// A builtin function, module or class object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Int,
    Float,
    Str,
    Bool,
    Len,
    List,
    Tuple,
    Dict,
    Set,
    Abs,
    Min,
    Max,
    Round,
    Sum,
    Sorted,
    Any,
    All,
    Range,
    Md5,
    Sha256,
    Rand,
    RandInt,
    /// The `datetime` module.
    DatetimeModule,
    /// `datetime.datetime`.
    DatetimeClass,
    /// `datetime.date`.
    DateClass,
    /// `datetime.timedelta`.
    TimedeltaClass,
    /// `datetime.timezone`.
    TimezoneClass,
    /// The `json` module.
    JsonModule,
    JsonDumps,
    JsonLoads,
}

impl Builtin {
    /// The builtin a bare name resolves to, if any.
    pub(crate) fn lookup(name: &str) -> Option<Builtin> {
        Some(match name {
            "int" => Builtin::Int,
            "float" => Builtin::Float,
            "str" => Builtin::Str,
            "bool" => Builtin::Bool,
            "len" => Builtin::Len,
            "list" => Builtin::List,
            "tuple" => Builtin::Tuple,
            "dict" => Builtin::Dict,
            "set" => Builtin::Set,
            "abs" => Builtin::Abs,
            "min" => Builtin::Min,
            "max" => Builtin::Max,
            "round" => Builtin::Round,
            "sum" => Builtin::Sum,
            "sorted" => Builtin::Sorted,
            "any" => Builtin::Any,
            "all" => Builtin::All,
            "range" => Builtin::Range,
            "md5" => Builtin::Md5,
            "sha256" => Builtin::Sha256,
            "rand" => Builtin::Rand,
            "randint" => Builtin::RandInt,
            "datetime" => Builtin::DatetimeModule,
            "json" => Builtin::JsonModule,
            _ => return None,
        })
    }

    /// Python's type of the object.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Builtin::DatetimeModule | Builtin::JsonModule => "module",
            Builtin::Int
            | Builtin::Float
            | Builtin::Str
            | Builtin::Bool
            | Builtin::List
            | Builtin::Tuple
            | Builtin::Dict
            | Builtin::Set
            | Builtin::Range
            | Builtin::DatetimeClass
            | Builtin::DateClass
            | Builtin::TimedeltaClass
            | Builtin::TimezoneClass => "type",
            _ => "builtin_function_or_method",
        }
    }

    /// The name Python shows for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::Int => "int",
            Builtin::Float => "float",
            Builtin::Str => "str",
            Builtin::Bool => "bool",
            Builtin::Len => "len",
            Builtin::List => "list",
            Builtin::Tuple => "tuple",
            Builtin::Dict => "dict",
            Builtin::Set => "set",
            Builtin::Abs => "abs",
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::Round => "round",
            Builtin::Sum => "sum",
            Builtin::Sorted => "sorted",
            Builtin::Any => "any",
            Builtin::All => "all",
            Builtin::Range => "range",
            Builtin::Md5 => "md5",
            Builtin::Sha256 => "sha256",
            Builtin::Rand => "random",
            Builtin::RandInt => "randint",
            Builtin::DatetimeModule => "datetime",
            Builtin::DatetimeClass => "datetime.datetime",
            Builtin::DateClass => "datetime.date",
            Builtin::TimedeltaClass => "datetime.timedelta",
            Builtin::TimezoneClass => "datetime.timezone",
            Builtin::JsonModule => "json",
            Builtin::JsonDumps => "dumps",
            Builtin::JsonLoads => "loads",
        }
    }

    /// Python's repr of the object.
    pub(crate) fn repr(self) -> String {
        match self.type_name() {
            "module" => format!("<module '{}'>", self.name()),
            "type" => format!("<class '{}'>", self.name()),
            _ => format!("<built-in function {}>", self.name()),
        }
    }
}
