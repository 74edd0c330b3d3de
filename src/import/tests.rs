//! The readers against the fixtures in tests/fixtures/import/.

use super::*;
use crate::auth::legacy_hash::Scheme;

fn fixture(name: &str) -> std::fs::File {
    let path = format!(
        "{}/tests/fixtures/import/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read_all(name: &str) -> (Format, Vec<Result<ImportRow, RowError>>) {
    let rows = open(fixture(name), None, &ReadOptions::default()).unwrap();
    let format = rows.format();
    (format, rows.collect())
}

fn ok(row: &Result<ImportRow, RowError>) -> &ImportRow {
    match row {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

fn hash_of(row: &ImportRow) -> (Scheme, &str) {
    match &row.password {
        ImportedPassword::Hash { scheme, stored } => (*scheme, stored.expose()),
        other => panic!("line {}: {other:?}", row.line),
    }
}

#[test]
fn each_fixture_format_is_sniffed_from_its_header() {
    for (name, format) in [
        ("magento-customers.csv", Format::MagentoCsv),
        ("customer_entity.tsv", Format::MagentoEntityCsv),
        ("shopify-customers.csv", Format::ShopifyCsv),
        ("customers.jsonl", Format::Jsonl),
    ] {
        assert_eq!(read_all(name).0, format, "{name}");
    }
    assert_eq!(
        sniff("entity_id,email,website_id"),
        Some(Format::MagentoEntityCsv)
    );
    assert_eq!(sniff("name,phone"), None);
    let unknown = open(
        "name,phone\nx,y\n".as_bytes(),
        None,
        &ReadOptions::default(),
    );
    assert_eq!(
        unknown.err().map(|e| e.to_string()).as_deref(),
        Some("cannot tell the file's format from its first line; name it with --format (magento-csv, magento-entity-csv, shopify-csv, jsonl)")
    );
    assert_eq!(
        open("".as_bytes(), None, &ReadOptions::default()).err(),
        Some(OpenError::Empty)
    );
    assert_eq!(
        open(
            "name,phone\nx,y\n".as_bytes(),
            Some(Format::MagentoCsv),
            &ReadOptions::default()
        )
        .err()
        .map(|e| e.to_string())
        .as_deref(),
        Some("the header has no email column")
    );
    assert_eq!("shopify-csv".parse::<Format>(), Ok(Format::ShopifyCsv));
    assert!("magento".parse::<Format>().is_err());
}

#[test]
fn magento_export_rows_map_to_profiles_flags_and_classified_hashes() {
    let (_, rows) = read_all("magento-customers.csv");
    assert_eq!(rows.len(), 3);

    let roni = ok(&rows[0]);
    assert_eq!(roni.line, 2);
    assert_eq!(roni.email, "roni_cost@example.com");
    assert_eq!(
        roni.profile,
        Profile {
            firstname: Some("Veronica".into()),
            lastname: Some("Costello".into()),
            date_of_birth: Some("1973-12-15".into()),
            gender: Some(2),
            ..Profile::default()
        }
    );
    assert!(roni.confirmed && !roni.disabled);
    assert_eq!(roni.website.as_deref(), Some("base"));
    assert_eq!(roni.created_at, Some(1_725_194_940));
    assert_eq!(
        hash_of(roni),
        (
            Scheme::MagentoMd5,
            "magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0"
        )
    );
    // The live reset token of the export is not carried anywhere.
    assert!(!format!("{roni:?}").contains("Rp1Token"));
    assert!(roni.warnings.is_empty());

    let john = ok(&rows[1]);
    assert_eq!(john.line, 3);
    assert_eq!(john.profile.gender, Some(1));
    assert_eq!(john.profile.middlename.as_deref(), Some("Q"));
    assert_eq!(john.profile.prefix.as_deref(), Some("Mr."));
    assert_eq!(john.profile.suffix.as_deref(), Some("Jr."));
    assert_eq!(john.profile.taxvat.as_deref(), Some("GB123456789"));
    assert_eq!(john.profile.date_of_birth.as_deref(), Some("1990-01-05"));
    // The admin grid's `09/01/24 12:49` is the same instant as roni's.
    assert_eq!(john.created_at, Some(1_725_194_940));
    // An unchained version 3 hash arrives as the argon2id PHC string storekey verifies.
    assert_eq!(
        hash_of(john),
        (
            Scheme::MagentoArgon2V3,
            "$argon2id$v=19$m=65536,t=2,p=1$NVBpS0pSbjI4YkJLb0ZNbw$q16/jSc7CFtqYDNhmOClogkP3D4GBqZ4MVxydKsG4EY"
        )
    );

    let mary = ok(&rows[2]);
    assert_eq!(mary.line, 4);
    assert!(
        !mary.confirmed,
        "a confirmation key means not confirmed yet"
    );
    assert_eq!(mary.profile.gender, Some(3));
    assert_eq!(mary.profile.lastname.as_deref(), Some("O'Brien, Smith"));
    assert_eq!(mary.website.as_deref(), Some("french"));
    assert_eq!(hash_of(mary).0, Scheme::Chained);
}

#[test]
fn entity_dump_reads_mysql_batch_nulls_escapes_and_flags() {
    let (_, rows) = read_all("customer_entity.tsv");
    assert_eq!(rows.len(), 3);

    let ann = ok(&rows[0]);
    assert_eq!(ann.line, 2);
    assert_eq!(ann.source_id.as_deref(), Some("1"));
    assert_eq!(ann.website.as_deref(), Some("1"));
    assert_eq!(ann.profile.lastname.as_deref(), Some("Lee\tKim"));
    assert_eq!(ann.profile.prefix, None, "NULL is no value");
    assert_eq!(ann.profile.gender, Some(2));
    assert_eq!(ann.profile.date_of_birth.as_deref(), Some("1985-02-28"));
    assert_eq!(ann.created_at, Some(1_551_675_967));
    assert!(ann.confirmed && !ann.disabled);
    assert_eq!(hash_of(ann).0, Scheme::MagentoSha256);

    let bo = ok(&rows[1]);
    assert!(bo.disabled, "is_active = 0");
    assert!(!bo.confirmed);
    assert_eq!(bo.profile.gender, None);
    assert_eq!(bo.created_at, None);
    assert_eq!(
        bo.warnings
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>(),
        ["created_at: zero date, left empty"]
    );
    // 1 GiB of argon2 memory: refused, the customer comes in without a password.
    match &bo.password {
        ImportedPassword::Unsupported(reason) => {
            assert_eq!(
                reason.to_string(),
                "password hash too costly: argon2 memory above 65536 KiB"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bo.password.label(), "unsupported");

    assert_eq!(
        rows[2].as_ref().err(),
        Some(&RowError {
            line: 4,
            problem: RowProblem::InvalidEmail
        })
    );
}

#[test]
fn shopify_rows_come_without_passwords_and_with_tags() {
    let (_, rows) = read_all("shopify-customers.csv");
    assert_eq!(rows.len(), 3);

    let russell = ok(&rows[0]);
    assert_eq!(russell.line, 2);
    assert_eq!(russell.email, "russel.winfield@example.com");
    assert_eq!(russell.source_id.as_deref(), Some("7049288720563"));
    assert_eq!(russell.profile.firstname.as_deref(), Some("Russell"));
    assert_eq!(russell.profile.lastname.as_deref(), Some("Winfield"));
    // No customer phone: the default address's.
    assert_eq!(russell.profile.phone.as_deref(), Some("+16135550135"));
    assert!(russell.profile.is_subscribed);
    assert_eq!(russell.tags, ["VIP", "wholesale"]);
    assert!(russell.confirmed);
    assert!(matches!(russell.password, ImportedPassword::None));
    assert_eq!(russell.created_at, None);

    // The first row's note spans two lines, so this one starts on line 4.
    let karine = ok(&rows[1]);
    assert_eq!(karine.line, 4);
    assert_eq!(karine.profile.phone.as_deref(), Some("+16135550142"));
    assert!(!karine.profile.is_subscribed);
    assert!(karine.tags.is_empty());

    assert_eq!(
        rows[2].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 5: no email")
    );
}

#[test]
fn jsonl_reads_every_field_and_reports_bad_lines_by_number() {
    let rows = open(fixture("customers.jsonl"), None, &ReadOptions::default()).unwrap();
    let mut rows = rows;
    let all: Vec<_> = rows.by_ref().collect();
    // Six non-blank lines; the blank line 3 is skipped.
    assert_eq!(all.len(), 6);
    assert_eq!(
        rows.bytes_read(),
        std::fs::metadata(format!(
            "{}/tests/fixtures/import/customers.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .len()
    );

    let pat = ok(&all[0]);
    assert_eq!(pat.line, 1);
    assert_eq!(
        pat.profile,
        Profile {
            firstname: Some("Pat".into()),
            lastname: Some("Lane".into()),
            date_of_birth: Some("1990-07-04".into()),
            gender: Some(1),
            taxvat: Some("DE123".into()),
            is_subscribed: true,
            phone: Some("+4930123".into()),
            ..Profile::default()
        }
    );
    assert!(!pat.confirmed && !pat.disabled && pat.allow_remote_shopping_assistance);
    assert_eq!(pat.tags, ["vip", "beta"]);
    assert_eq!(pat.multipass_identifier.as_deref(), Some("pat-42"));
    assert_eq!(pat.created_at, Some(1_725_194_940));
    assert_eq!(pat.source_id.as_deref(), Some("17"));
    // storekey's own kept form reads back as it was written.
    assert_eq!(
        hash_of(pat),
        (
            Scheme::MagentoMd5,
            "magento:67a1e09bb1f83f5007dc119c14d663aa:salt:0"
        )
    );

    assert_eq!(
        all[1].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 2: not JSON: ends early at column 42")
    );

    let sam = ok(&all[2]);
    assert_eq!(sam.line, 4);
    assert_eq!(sam.profile.gender, Some(2));
    assert_eq!(sam.tags, ["a", "b"]);
    assert_eq!(sam.created_at, Some(1_700_000_000));
    assert_eq!(hash_of(sam).0, Scheme::Bcrypt);

    assert_eq!(
        all[3].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 5: firstname must be a string")
    );
    assert_eq!(
        all[4].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 6: not a JSON object")
    );
    assert_eq!(hash_of(ok(&all[5])).0, Scheme::PhcArgon2id);
}

#[test]
fn row_errors_never_show_the_hash() {
    let hash = "$2y$04$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS";
    let input = format!(
        "{{\"email\":\"a@example.com\",\"password_hash\":[\"{hash}\"]}}\n{{\"email\":\"{hash}\"}}\n"
    );
    let rows: Vec<_> = open(input.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .collect();
    let messages: Vec<String> = rows
        .iter()
        .map(|r| r.as_ref().err().map(|e| e.to_string()).unwrap_or_default())
        .collect();
    assert_eq!(
        messages,
        [
            "line 1: password_hash must be a string",
            "line 2: invalid email"
        ]
    );
    // An unsupported hash's reason and the row's Debug do not carry it either.
    let csv = "email,_website,password_hash\nz@example.com,base,$2y$31$BOSGObVxtQxIFfQSC91ka.8zPssyj6PWPDnNA8HdszauZv.w1qZCS\n";
    let row = open(csv.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        row.password.label(),
        "unsupported",
        "bcrypt cost 31 is over the limit"
    );
    let shown = format!("{row:?}");
    assert!(!shown.contains("BOSGObVx"), "{shown}");
}

#[test]
fn rows_with_another_field_count_are_errors_and_reading_goes_on() {
    let csv = "email,_website,firstname\na@example.com,base\nb@example.com,base,Bea\n";
    let rows: Vec<_> = open(csv.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .collect();
    assert_eq!(
        rows[0].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 2: 2 fields where the header has 3")
    );
    assert_eq!(ok(&rows[1]).profile.firstname.as_deref(), Some("Bea"));
}

#[test]
fn a_plaintext_password_column_is_kept_as_a_secret_to_hash() {
    let csv = "email,_website,password_hash,password\na@example.com,base,,Secret123!\n";
    let row = open(csv.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    match &row.password {
        ImportedPassword::Plaintext(pw) => assert_eq!(pw.expose(), "Secret123!"),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{row:?}").contains("Secret123"));
}

/// A reader that never ends: a header, then the same row forever.
struct Endless {
    header: Option<&'static [u8]>,
    row: &'static [u8],
    at: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        if let Some(h) = self.header.take() {
            buf[..h.len()].copy_from_slice(h);
            n = h.len();
        }
        while n < buf.len() {
            buf[n] = self.row[self.at];
            self.at = (self.at + 1) % self.row.len();
            n += 1;
        }
        Ok(n)
    }
}

#[test]
fn rows_stream_without_reading_the_whole_file() {
    for (header, row) in [
        (
            &b"email,_website,firstname\n"[..],
            &b"a@example.com,base,Ann\n"[..],
        ),
        (
            &b"{\"email\":\"a@example.com\"}\n"[..],
            &b"{\"email\":\"b@example.com\"}\n"[..],
        ),
    ] {
        let input = Endless {
            header: Some(header),
            row,
            at: 0,
        };
        let rows = open(input, None, &ReadOptions::default()).unwrap();
        let first: Vec<_> = rows.take(1000).collect();
        assert_eq!(first.len(), 1000);
        assert!(first.iter().all(Result::is_ok));
    }
}

#[test]
fn an_overlong_json_line_is_an_error_and_the_next_line_is_read() {
    let long = format!("{{\"email\":\"{}@example.com\"}}\n", "x".repeat(MAX_LINE));
    let input = format!("{{\"email\":\"a@example.com\"}}\n{long}{{\"email\":\"c@example.com\"}}\n");
    let rows: Vec<_> = open(input.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1].as_ref().err().map(|e| e.to_string()),
        Some(format!("line 2: line longer than {MAX_LINE} bytes"))
    );
    assert_eq!(ok(&rows[2]).email, "c@example.com");
    assert_eq!(ok(&rows[2]).line, 3);
}

#[test]
fn an_unclosed_quote_stops_the_read_instead_of_filling_memory() {
    let mut csv = String::from(
        "email,_website,firstname\na@example.com,base,Ann\nb@example.com,base,\"Bea\n",
    );
    // The unclosed quote would make the rest of the file one field.
    for n in 0..100_000 {
        csv.push_str(&format!("c{n}@example.com,base,Cy\n"));
    }
    let rows: Vec<_> = open(csv.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(ok(&rows[0]).email, "a@example.com");
    assert_eq!(
        rows[1].as_ref().err().map(|e| e.to_string()).as_deref(),
        Some("line 3: read failed: a record longer than 1048576 bytes (an unclosed quote?)")
    );
}

#[test]
fn blank_lines_and_empty_rows_are_skipped() {
    let csv = "email,_website\r\n\r\n,\r\na@example.com,base\r\n";
    let rows: Vec<_> = open(csv.as_bytes(), None, &ReadOptions::default())
        .unwrap()
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(ok(&rows[0]).line, 4);
}

#[test]
fn exported_addresses_read_back_with_their_defaults_and_bad_ones_are_refused() {
    use crate::model::{Account, Address, AddressBook, AddressId};
    let mut account = Account::default();
    account.customer.email = "ann@example.com".into();
    let home = Address {
        id: AddressId(41),
        firstname: Some("Ann".into()),
        street: vec!["1 Main St".into(), "Apt 2".into()],
        city: Some("Austin".into()),
        region: Some("Texas".into()),
        region_code: Some("TX".into()),
        country_code: Some("US".into()),
        ..Address::default()
    };
    let work = Address {
        id: AddressId(42),
        company: Some("Acme".into()),
        country_code: Some("CA".into()),
        ..Address::default()
    };
    account.addresses = AddressBook {
        addresses: vec![home.clone(), work.clone()],
        default_billing: Some(AddressId(42)),
        default_shipping: Some(AddressId(41)),
    };
    let line = export::line(&account).to_string();
    let read = |text: String| {
        open(text.as_bytes(), None, &ReadOptions::default())
            .unwrap()
            .next()
            .unwrap()
    };
    let row = read(format!("{line}\n")).unwrap();
    assert_eq!(
        row.addresses,
        AddressBook {
            addresses: vec![
                Address {
                    id: AddressId(1),
                    ..home
                },
                Address {
                    id: AddressId(2),
                    ..work
                }
            ],
            default_billing: Some(AddressId(2)),
            default_shipping: Some(AddressId(1)),
        }
    );
    // A customer without addresses exports no `addresses` key.
    let bare = export::line(&Account::default()).to_string();
    assert!(!bare.contains("addresses"), "{bare}");
    for bad in [
        r#"[{"country_code":"XX"}]"#,
        r#"[{"street":["1","2","3","4","5"]}]"#,
        r#"{"city":"Austin"}"#,
        r#"[{"city":7}]"#,
    ] {
        let text = format!("{{\"email\":\"a@example.com\",\"addresses\":{bad}}}\n");
        let err = read(text).unwrap_err();
        assert!(err.to_string().contains("addresses"), "{bad}: {err}");
    }
    let long = "x".repeat(256);
    let text = format!("{{\"email\":\"a@example.com\",\"addresses\":[{{\"city\":\"{long}\"}}]}}\n");
    assert!(read(text).is_err());
}

#[test]
fn email_verified_is_exported_and_read_back_and_a_file_without_it_means_confirmed() {
    use crate::model::Account;
    let mut account = Account::default();
    account.customer.email = "ann@example.com".into();
    account.customer.confirmed = true;
    let line = export::line(&account).to_string();
    assert!(line.contains(r#""email_verified":false"#), "{line}");
    let read = |text: &str| {
        open(
            format!("{text}\n").as_bytes(),
            None,
            &ReadOptions::default(),
        )
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
    };
    let row = read(&line);
    assert_eq!((row.confirmed, row.email_verified), (true, Some(false)));
    let row = read(r#"{"email":"bo@example.com","confirmed":false}"#);
    assert_eq!((row.confirmed, row.email_verified), (false, None));
}

/// A credential as webauthn-rs stores it (the shape `auth::passkeys` reads back), for `id`.
fn webauthn_credential(id: &[u8]) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    let x: Vec<u8> = (1..=32).collect();
    let y: Vec<u8> = (33..=64).collect();
    serde_json::json!({
        "cred_id": URL_SAFE_NO_PAD.encode(id),
        "cred": {"type_": "ES256", "key": {"EC_EC2": {"curve": "SECP256R1", "x": x, "y": y}}},
        "counter": 0,
        "transports": null,
        "user_verified": true,
        "backup_eligible": false,
        "backup_state": false,
        "registration_policy": "required",
        "extensions": {"cred_protect": "NotRequested", "hmac_create_secret": "NotRequested"},
        "attestation": {"data": "None", "metadata": "None"},
        "attestation_format": "None",
    })
    .to_string()
}

fn passkey(id: &[u8], name: &str) -> crate::model::passkey::Passkey {
    crate::model::passkey::Passkey {
        id: id.to_vec(),
        name: name.into(),
        created_at: 1_725_194_940,
        last_used_at: None,
        counter: 0,
        backup_eligible: false,
        backup_state: false,
        transports: Vec::new(),
        credential: webauthn_credential(id),
    }
}

fn read_line(text: &str) -> Result<ImportRow, RowError> {
    open(
        format!("{text}\n").as_bytes(),
        None,
        &ReadOptions::default(),
    )
    .unwrap()
    .next()
    .unwrap()
}

#[test]
fn exported_passkeys_read_back_with_their_handle() {
    use crate::model::Account;
    let mut account = Account::default();
    account.customer.email = "ann@example.com".into();
    let phone = crate::model::passkey::Passkey {
        last_used_at: Some(1_725_200_000),
        counter: 41,
        backup_eligible: true,
        backup_state: true,
        transports: vec!["internal".into(), "hybrid".into()],
        ..passkey(&[0xfb; 20], "Phone")
    };
    let key = passkey(&[7; 16], "Security key");
    account.credentials.passkey_handle = Some([0xff; 16]);
    account.credentials.passkeys = vec![phone.clone(), key.clone()];
    let line = export::line(&account);
    assert_eq!(line["passkey_handle"], "_____________________w");
    assert_eq!(
        line["passkeys"][0],
        serde_json::json!({
            "id": "-_v7-_v7-_v7-_v7-_v7-_v7-_s",
            "name": "Phone",
            "created_at": "2024-09-01T12:49:00Z",
            "last_used_at": "2024-09-01T14:13:20Z",
            "counter": 41,
            "backup_eligible": true,
            "backup_state": true,
            "transports": ["internal", "hybrid"],
            "credential": phone.credential,
        })
    );
    assert_eq!(line["passkeys"][1]["last_used_at"], serde_json::Value::Null);
    let row = read_line(&line.to_string()).unwrap();
    assert_eq!(row.passkey_handle, Some([0xff; 16]));
    assert_eq!(row.passkeys, [phone, key]);

    // A customer without passkeys exports neither key, even with a handle left from a removed
    // passkey; a handle without passkeys is dropped on the way in.
    account.credentials.passkeys.clear();
    let bare = export::line(&account).to_string();
    assert!(!bare.contains("passkey"), "{bare}");
    let row = read_line(
        r#"{"email":"a@example.com","passkey_handle":"_____________________w","passkeys":[]}"#,
    )
    .unwrap();
    assert_eq!((row.passkey_handle, row.passkeys.len()), (None, 0));
}

#[test]
fn each_bad_passkey_field_is_a_row_error_naming_it() {
    use crate::model::passkey::{MAX_NAME_CHARS, MAX_PASSKEYS};
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    // The messages name the limits as numbers.
    assert_eq!((MAX_PASSKEYS, MAX_NAME_CHARS), (10, 64));
    let good = |id: &[u8]| {
        serde_json::json!({
            "id": URL_SAFE_NO_PAD.encode(id),
            "name": "Phone",
            "created_at": "2024-09-01T12:49:00Z",
            "credential": webauthn_credential(id),
        })
    };
    let handle = serde_json::json!("_____________________w");
    let line = |handle: &serde_json::Value, passkeys: serde_json::Value| {
        serde_json::json!({"email": "a@example.com", "passkey_handle": handle, "passkeys": passkeys})
            .to_string()
    };
    let with = |field: &str, value: serde_json::Value| {
        let mut p = good(&[1; 16]);
        p[field] = value;
        line(&handle, serde_json::json!([p]))
    };
    // The good one reads, and whole seconds do for the times.
    let row = read_line(&with("last_used_at", serde_json::json!(1_700_000_000))).unwrap();
    assert_eq!(row.passkeys[0].last_used_at, Some(1_700_000_000));

    let other_id = webauthn_credential(&[2; 16]);
    let cases = [
        (
            line(&serde_json::json!("AAAA"), serde_json::json!([good(&[1; 16])])),
            "passkey_handle must be a user handle of 16 bytes in unpadded base64url",
        ),
        (
            line(&serde_json::json!(7), serde_json::json!([])),
            "passkey_handle must be a user handle of 16 bytes in unpadded base64url",
        ),
        (
            line(&serde_json::json!("_____________________w=="), serde_json::json!([])),
            "passkey_handle must be a user handle of 16 bytes in unpadded base64url",
        ),
        (
            line(&serde_json::Value::Null, serde_json::json!([good(&[1; 16])])),
            "passkey_handle must be given with passkeys: a user handle of 16 bytes in unpadded base64url",
        ),
        (
            line(&handle, serde_json::json!({"id": "AQ"})),
            "passkeys must be an array of at most 10 passkey objects",
        ),
        (
            line(
                &handle,
                serde_json::Value::Array((0..11u8).map(|i| good(&[i; 16])).collect()),
            ),
            "passkeys must be an array of at most 10 passkey objects",
        ),
        (
            line(&handle, serde_json::json!(["AQ"])),
            "passkeys[0] must be a passkey object",
        ),
        (
            with("id", serde_json::json!("not base64!")),
            "passkeys[0].id must be a credential id in unpadded base64url, once per customer",
        ),
        (
            with("id", serde_json::json!(null)),
            "passkeys[0].id must be a credential id in unpadded base64url, once per customer",
        ),
        (
            line(&handle, serde_json::json!([good(&[1; 16]), good(&[1; 16])])),
            "passkeys[1].id must be a credential id in unpadded base64url, once per customer",
        ),
        (
            with("name", serde_json::json!("x".repeat(65))),
            "passkeys[0].name must be a name of 1 to 64 characters, no control characters",
        ),
        (
            with("name", serde_json::json!(" ")),
            "passkeys[0].name must be a name of 1 to 64 characters, no control characters",
        ),
        (
            with("name", serde_json::json!("a\u{7}b")),
            "passkeys[0].name must be a name of 1 to 64 characters, no control characters",
        ),
        (
            with("created_at", serde_json::json!("yesterday")),
            "passkeys[0].created_at must be whole seconds or a date string",
        ),
        (
            with("created_at", serde_json::json!(null)),
            "passkeys[0].created_at must be whole seconds or a date string",
        ),
        (
            with("last_used_at", serde_json::json!(true)),
            "passkeys[0].last_used_at must be whole seconds, a date string or null",
        ),
        (
            with("counter", serde_json::json!(4_294_967_296u64)),
            "passkeys[0].counter must be an integer from 0 to 4294967295",
        ),
        (
            with("counter", serde_json::json!(-1)),
            "passkeys[0].counter must be an integer from 0 to 4294967295",
        ),
        (
            with("backup_state", serde_json::json!("yes")),
            "passkeys[0].backup_state must be true or false",
        ),
        (
            with("backup_eligible", serde_json::json!(1)),
            "passkeys[0].backup_eligible must be true or false",
        ),
        (
            with("transports", serde_json::json!(["usb", 3])),
            "passkeys[0].transports must be an array of strings",
        ),
        (
            with("credential", serde_json::json!("{not json")),
            "passkeys[0].credential must be the WebAuthn credential of this id as a JSON string (what storekey export writes)",
        ),
        (
            with("credential", serde_json::json!("{}")),
            "passkeys[0].credential must be the WebAuthn credential of this id as a JSON string (what storekey export writes)",
        ),
        (
            with("credential", serde_json::json!(other_id)),
            "passkeys[0].credential must be the WebAuthn credential of this id as a JSON string (what storekey export writes)",
        ),
        (
            with("credential", serde_json::from_str(&webauthn_credential(&[1; 16])).unwrap()),
            "passkeys[0].credential must be the WebAuthn credential of this id as a JSON string (what storekey export writes)",
        ),
    ];
    for (text, message) in cases {
        let err = read_line(&text).err().map(|e| e.to_string());
        assert_eq!(err, Some(format!("line 1: {message}")), "{text}");
    }
}
