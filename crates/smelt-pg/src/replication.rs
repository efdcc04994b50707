//! Logical replication read through the SQL interface: LSNs, and decoding the `pgoutput`
//! plugin's messages (protocol version 1) as `pg_logical_slot_peek_binary_changes` returns
//! them.
//!
//! tokio-postgres does not speak the streaming replication protocol, so smelt reads a slot
//! with SQL over an ordinary connection (`COPY (SELECT lsn, data FROM
//! pg_logical_slot_peek_binary_changes(…)) TO STDOUT (FORMAT binary)`), which yields exactly
//! the bytes a walsender would put in its `XLogData` messages. [`decode`] turns one such
//! message into a [`Message`]; values stay in PostgreSQL's text form (`'t'` columns), for the
//! caller to convert.

use std::fmt;

/// A WAL position (a 64-bit byte offset), written `X/Y` in hex by PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

impl std::str::FromStr for Lsn {
    type Err = String;

    /// Parse PostgreSQL's `X/Y` text form.
    fn from_str(s: &str) -> Result<Lsn, String> {
        let bad = || format!("{s:?} is not an LSN (expected two hex numbers as in 16/B374D848)");
        let (hi, lo) = s.trim().split_once('/').ok_or_else(bad)?;
        let hi = u32::from_str_radix(hi, 16).map_err(|_| bad())?;
        let lo = u32::from_str_radix(lo, 16).map_err(|_| bad())?;
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Whether the column is part of the replica identity (the key sent for deletes).
    pub is_key: bool,
    /// Its name.
    pub name: String,
    /// Its type's OID.
    pub type_oid: u32,
    /// Its type modifier.
    pub type_modifier: i32,
}

/// A table's description, sent before the first change to it in each decoding session and
/// again when it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The table's OID, which the change messages name.
    pub oid: u32,
    /// Its schema.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `REPLICA IDENTITY`: `d` default (primary key), `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    /// Its columns, in the order tuples list them.
    pub columns: Vec<RelationColumn>,
}

/// One value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// SQL NULL (also every non-key column of a key-only old tuple).
    Null,
    /// A TOASTed value the change did not touch: not sent, unknown here.
    UnchangedToast,
    /// The value in its type's text form.
    Text(&'a str),
}

/// What a change carries for the old row of an update or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple<'a> {
    /// Only the replica identity (key) columns are meaningful (`K`).
    Key(Vec<Value<'a>>),
    /// The whole old row (`O`, `REPLICA IDENTITY FULL`).
    Full(Vec<Value<'a>>),
}

impl<'a> OldTuple<'a> {
    /// The values, whichever kind.
    pub fn values(&self) -> &[Value<'a>] {
        match self {
            OldTuple::Key(v) | OldTuple::Full(v) => v,
        }
    }
}

/// A decoded `pgoutput` message (protocol version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// A transaction starts; `final_lsn` is where its commit record starts.
    Begin {
        /// The commit record's LSN.
        final_lsn: Lsn,
        /// The commit time (microseconds since 2000-01-01).
        timestamp: i64,
        /// The transaction ID.
        xid: u32,
    },
    /// A transaction committed.
    Commit {
        /// The commit record's LSN.
        commit_lsn: Lsn,
        /// Just past the commit record: resuming from here skips this transaction.
        end_lsn: Lsn,
        /// The commit time (microseconds since 2000-01-01).
        timestamp: i64,
    },
    /// Changes that follow came from another origin (replication from elsewhere).
    Origin {
        /// The commit LSN on the origin.
        lsn: Lsn,
        /// The origin's name.
        name: &'a str,
    },
    /// A table's description.
    Relation(Relation),
    /// A user type's name (sent before a relation using it).
    Type {
        /// The type's OID.
        oid: u32,
        /// Its schema.
        namespace: &'a str,
        /// Its name.
        name: &'a str,
    },
    /// A row was inserted.
    Insert {
        /// The table's OID.
        relation: u32,
        /// The new row.
        new: Vec<Value<'a>>,
    },
    /// A row was updated.
    Update {
        /// The table's OID.
        relation: u32,
        /// The old key (when it changed) or the old row (`REPLICA IDENTITY FULL`).
        old: Option<OldTuple<'a>>,
        /// The new row (unchanged TOASTed values are [`Value::UnchangedToast`]).
        new: Vec<Value<'a>>,
    },
    /// A row was deleted.
    Delete {
        /// The table's OID.
        relation: u32,
        /// The old key or the old row.
        old: OldTuple<'a>,
    },
    /// Tables were truncated.
    Truncate {
        /// `1`: CASCADE, `2`: RESTART IDENTITY.
        options: u8,
        /// The tables' OIDs.
        relations: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`); only sent when asked for.
    Message {
        /// Its prefix.
        prefix: &'a str,
    },
}

/// Reads the big-endian fields of one message, saying what was cut short.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| format!("the message ends at byte {} inside {what}", self.data.len()))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn i16(&mut self, what: &str) -> Result<i16, String> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i32(&mut self, what: &str) -> Result<i32, String> {
        Ok(self.u32(what)? as i32)
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn cstr(&mut self, what: &str) -> Result<&'a str, String> {
        let rest = &self.data[self.pos..];
        let len = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| format!("{what} has no terminating NUL"))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|_| format!("{what} is not UTF-8 (the database encoding must be UTF8)"))?;
        self.pos += len + 1;
        Ok(s)
    }

    fn tuple(&mut self) -> Result<Vec<Value<'a>>, String> {
        let n = self.i16("a tuple's column count")?;
        let mut values = Vec::with_capacity(n.max(0) as usize);
        for i in 0..n {
            values.push(match self.u8("a tuple value's kind")? {
                b'n' => Value::Null,
                b'u' => Value::UnchangedToast,
                b't' => {
                    let len = self.i32("a value's length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| format!("column {i} has the negative length {len}"))?;
                    let bytes = self.take(len, "a value")?;
                    Value::Text(std::str::from_utf8(bytes).map_err(|_| {
                        format!(
                            "column {i}'s text is not UTF-8 (the database encoding must be UTF8)"
                        )
                    })?)
                }
                b'b' => {
                    return Err(format!(
                        "column {i} is in binary form, which smelt does not request"
                    ))
                }
                other => {
                    return Err(format!(
                        "column {i} has the unknown value kind {:?}",
                        other as char
                    ))
                }
            });
        }
        Ok(values)
    }

    fn old_tuple(&mut self, kind: u8) -> Result<OldTuple<'a>, String> {
        match kind {
            b'K' => Ok(OldTuple::Key(self.tuple()?)),
            b'O' => Ok(OldTuple::Full(self.tuple()?)),
            other => Err(format!(
                "expected an old tuple (K or O), found {:?}",
                other as char
            )),
        }
    }
}

/// Decode one `pgoutput` message (protocol version 1, text values).
pub fn decode(data: &[u8]) -> Result<Message<'_>, String> {
    let mut r = Reader { data, pos: 0 };
    let kind = r.u8("the message type")?;
    let message = match kind {
        b'B' => Message::Begin {
            final_lsn: Lsn(r.u64("Begin's LSN")?),
            timestamp: r.u64("Begin's time")? as i64,
            xid: r.u32("Begin's transaction ID")?,
        },
        b'C' => {
            let _flags = r.u8("Commit's flags")?;
            Message::Commit {
                commit_lsn: Lsn(r.u64("Commit's LSN")?),
                end_lsn: Lsn(r.u64("Commit's end LSN")?),
                timestamp: r.u64("Commit's time")? as i64,
            }
        }
        b'O' => Message::Origin {
            lsn: Lsn(r.u64("Origin's LSN")?),
            name: r.cstr("Origin's name")?,
        },
        b'R' => {
            let oid = r.u32("Relation's OID")?;
            let namespace = r.cstr("Relation's schema")?.to_string();
            let name = r.cstr("Relation's name")?.to_string();
            let replica_identity = r.u8("Relation's replica identity")?;
            let n = r.i16("Relation's column count")?;
            let mut columns = Vec::with_capacity(n.max(0) as usize);
            for _ in 0..n {
                columns.push(RelationColumn {
                    is_key: r.u8("a column's flags")? & 1 == 1,
                    name: r.cstr("a column's name")?.to_string(),
                    type_oid: r.u32("a column's type")?,
                    type_modifier: r.i32("a column's type modifier")?,
                });
            }
            Message::Relation(Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            })
        }
        b'Y' => Message::Type {
            oid: r.u32("Type's OID")?,
            namespace: r.cstr("Type's schema")?,
            name: r.cstr("Type's name")?,
        },
        b'I' => {
            let relation = r.u32("Insert's relation")?;
            match r.u8("Insert's tuple marker")? {
                b'N' => Message::Insert {
                    relation,
                    new: r.tuple()?,
                },
                other => return Err(format!("Insert: expected N, found {:?}", other as char)),
            }
        }
        b'U' => {
            let relation = r.u32("Update's relation")?;
            let mut marker = r.u8("Update's tuple marker")?;
            let mut old = None;
            if marker == b'K' || marker == b'O' {
                old = Some(r.old_tuple(marker)?);
                marker = r.u8("Update's new tuple marker")?;
            }
            if marker != b'N' {
                return Err(format!("Update: expected N, found {:?}", marker as char));
            }
            Message::Update {
                relation,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32("Delete's relation")?;
            let marker = r.u8("Delete's tuple marker")?;
            Message::Delete {
                relation,
                old: r.old_tuple(marker)?,
            }
        }
        b'T' => {
            let n = r.u32("Truncate's relation count")?;
            let options = r.u8("Truncate's options")?;
            let mut relations = Vec::new();
            for _ in 0..n {
                relations.push(r.u32("a truncated relation")?);
            }
            Message::Truncate { options, relations }
        }
        b'M' => {
            let _flags = r.u8("Message's flags")?;
            let _lsn = r.u64("Message's LSN")?;
            Message::Message {
                prefix: r.cstr("Message's prefix")?,
            }
        }
        other => {
            return Err(format!(
                "unknown pgoutput message type {:?} (smelt asks for protocol version 1)",
                other as char
            ))
        }
    };
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips() {
        let lsn: Lsn = "16/B374D848".parse().unwrap_or_default();
        assert_eq!(lsn, Lsn(0x16_B374_D848));
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!(Lsn(0).to_string(), "0/0");
        assert!("16-B3".parse::<Lsn>().is_err());
        assert!("x/1".parse::<Lsn>().is_err());
    }

    // The bytes below were captured from PostgreSQL 15's pgoutput (proto_version 1) with
    // `SELECT data FROM pg_logical_slot_peek_binary_changes(…)` for:
    //   CREATE TABLE public.t (id int PRIMARY KEY, v text);
    //   INSERT INTO t VALUES (1, 'a'); UPDATE t SET v = NULL; DELETE FROM t; TRUNCATE t;
    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    #[test]
    fn decodes_captured_messages() {
        let begin = hex(BEGIN);
        match decode(&begin) {
            Ok(Message::Begin { final_lsn, xid, .. }) => {
                assert_eq!(final_lsn, Lsn(0x153_B218));
                assert_eq!(xid, 0x2d6);
            }
            other => panic!("{other:?}"),
        }
        let relation = hex(RELATION);
        match decode(&relation) {
            Ok(Message::Relation(rel)) => {
                assert_eq!(rel.oid, 0x4000);
                assert_eq!(rel.namespace, "public");
                assert_eq!(rel.name, "t");
                assert_eq!(rel.replica_identity, b'd');
                let names: Vec<_> = rel.columns.iter().map(|c| c.name.as_str()).collect();
                assert_eq!(names, ["id", "v"]);
                assert!(rel.columns[0].is_key && !rel.columns[1].is_key);
                assert_eq!(rel.columns[0].type_oid, 23);
                assert_eq!(rel.columns[1].type_oid, 25);
            }
            other => panic!("{other:?}"),
        }
        let insert = hex(INSERT);
        assert!(matches!(
            decode(&insert),
            Ok(Message::Insert { new, .. }) if new == [Value::Text("1"), Value::Text("a")]
        ));
        let update = hex(UPDATE);
        assert!(matches!(
            decode(&update),
            Ok(Message::Update { old: None, new, .. }) if new == [Value::Text("1"), Value::Null]
        ));
        let delete = hex(DELETE);
        assert!(matches!(
            decode(&delete),
            Ok(Message::Delete { old: OldTuple::Key(v), .. }) if v == [Value::Text("1"), Value::Null]
        ));
        let truncate = hex(TRUNCATE);
        assert!(matches!(
            decode(&truncate),
            Ok(Message::Truncate { relations, options: 0 }) if relations == [0x4000]
        ));
        let commit = hex(COMMIT);
        match decode(&commit) {
            Ok(Message::Commit {
                commit_lsn,
                end_lsn,
                ..
            }) => {
                assert_eq!(commit_lsn, Lsn(0x153_B218));
                assert_eq!(end_lsn, Lsn(0x153_B248));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cut_or_unknown_messages_are_errors_not_panics() {
        let insert = hex(INSERT);
        for n in 0..insert.len() {
            assert!(decode(&insert[..n]).is_err(), "{n}");
        }
        match decode(b"Z") {
            Err(e) => assert!(e.contains("unknown pgoutput message type"), "{e}"),
            Ok(m) => panic!("{m:?}"),
        }
        // A value kind other than n, u, t.
        let mut bad = insert.clone();
        let at = bad.iter().rposition(|b| *b == b't').unwrap_or(0);
        bad[at] = b'x';
        assert!(decode(&bad).is_err());
    }

    const BEGIN: &str = "42000000000153b218000304a00d70aa99000002d6";
    const RELATION: &str =
        "52000040007075626c69630074006400020169640000000017ffffffff00760000000019ffffffff";
    const INSERT: &str = "49000040004e0002740000000131740000000161";
    const UPDATE: &str = "55000040004e00027400000001316e";
    const DELETE: &str = "44000040004b00027400000001316e";
    const TRUNCATE: &str = "54000000010000004000";
    const COMMIT: &str = "4300000000000153b218000000000153b248000304a00d70aa99";
}
