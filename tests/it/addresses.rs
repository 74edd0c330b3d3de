//! Customer addresses (issue 11): one book per customer, seen and edited through both
//! dialects with each platform's types, validation and messages, on either backend.

use crate::support::*;
use serde_json::{json, Value};

const ANN: &str = "ann@example.com";
const PASSWORD: &str = "Str0ng-Passw0rd!";

/// What Alokai's Magento customer documents select (commerce-clients.md §2.2).
const ALOKAI_CUSTOMER: &str = "{ customer { date_of_birth default_billing default_shipping email \
    firstname is_subscribed lastname middlename prefix suffix taxvat addresses { city \
    country_code default_billing default_shipping extension_attributes { attribute_code value } \
    firstname id lastname postcode prefix region { region_code region_id region } street suffix \
    telephone vat_id } } }";

const CREATE: &str =
    "mutation($input: CustomerAddressInput!) { createCustomerAddress(input: $input) { \
    id uid customer_id firstname lastname company street city postcode telephone country_code \
    country_id region { region region_code region_id } default_billing default_shipping } }";

fn austin() -> Value {
    json!({
        "firstname": "Ann",
        "lastname": "Lee",
        "company": "Acme",
        "street": ["1 Main St", "Suite 2"],
        "city": "Austin",
        "region": {"region": "Texas", "region_code": "TX"},
        "postcode": "78701",
        "country_code": "US",
        "telephone": "+1 512 555 0100",
        "default_billing": true,
        "default_shipping": true
    })
}

async fn signed_in(s: &TestServer) -> String {
    s.create_customer(ANN, PASSWORD).await;
    s.token(ANN, PASSWORD).await
}

async fn create(s: &TestServer, token: &str, input: Value) -> Value {
    let (status, body) = s.gql(CREATE, json!({"input": input}), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["createCustomerAddress"].clone()
}

fn uid(id: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(id.to_string())
}

#[tokio::test]
async fn commerce_creates_reads_updates_and_deletes_addresses() {
    let s = TestServer::start().await;
    let token = signed_in(&s).await;
    let first = create(&s, &token, austin()).await;
    let id = first["id"].as_u64().unwrap();
    assert_eq!(
        first,
        json!({
            "id": id, "uid": uid(id), "customer_id": 1, "firstname": "Ann", "lastname": "Lee",
            "company": "Acme", "street": ["1 Main St", "Suite 2"], "city": "Austin",
            "postcode": "78701", "telephone": "+1 512 555 0100", "country_code": "US",
            "country_id": "US",
            "region": {"region": "Texas", "region_code": "TX", "region_id": null},
            "default_billing": true, "default_shipping": true
        })
    );
    let mut second = austin();
    second["city"] = json!("Dallas");
    // Magento's name parts and tax number are kept with the address.
    second["prefix"] = json!("Dr.");
    second["middlename"] = json!("Q.");
    second["suffix"] = json!("Jr.");
    second["fax"] = json!("+1 512 555 0199");
    second["vat_id"] = json!("US-123");
    second["default_billing"] = json!(false);
    second["default_shipping"] = json!(false);
    // The deprecated `country_id` is taken as Magento's resolver takes it.
    second["country_id"] = second["country_code"].take();
    second.as_object_mut().unwrap().remove("country_code");
    let second = create(&s, &token, second).await;
    let second_id = second["id"].as_u64().unwrap();
    assert_eq!(second["country_code"], "US");

    let (status, body) = s.gql(ALOKAI_CUSTOMER, json!({}), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let customer = &body["data"]["customer"];
    assert_eq!(customer["default_billing"], json!(id.to_string()));
    assert_eq!(customer["default_shipping"], json!(id.to_string()));
    assert_eq!(
        customer["addresses"][0],
        json!({
            "city": "Austin", "country_code": "US", "default_billing": true,
            "default_shipping": true, "extension_attributes": [], "firstname": "Ann", "id": id,
            "lastname": "Lee", "postcode": "78701", "prefix": null,
            "region": {"region_code": "TX", "region_id": null, "region": "Texas"},
            "street": ["1 Main St", "Suite 2"], "suffix": null, "telephone": "+1 512 555 0100",
            "vat_id": null
        })
    );
    assert_eq!(customer["addresses"][1]["city"], "Dallas");
    assert_eq!(customer["addresses"][1]["default_billing"], false);
    assert_eq!(customer["addresses"][1]["prefix"], "Dr.");
    assert_eq!(customer["addresses"][1]["suffix"], "Jr.");
    assert_eq!(customer["addresses"][1]["vat_id"], "US-123");
    let (_, body) = s
        .gql(
            "{ customer { addresses { middlename fax } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"]["customer"]["addresses"][1],
        json!({"middlename": "Q.", "fax": "+1 512 555 0199"}),
        "{body}"
    );

    // updateCustomerAddress(id) and updateCustomerAddressV2(uid) edit the given fields only.
    let (_, body) = s
        .gql(
            "mutation($id: Int!) { updateCustomerAddress(id: $id, input: {city: \"Houston\", default_billing: true}) { city street default_billing default_shipping } }",
            json!({"id": second_id}),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"]["updateCustomerAddress"],
        json!({"city": "Houston", "street": ["1 Main St", "Suite 2"], "default_billing": true, "default_shipping": false}),
        "{body}"
    );
    let (_, body) = s
        .gql(
            "mutation($uid: ID!) { updateCustomerAddressV2(uid: $uid, input: {street: [\"9 Elm St\"], telephone: \"555\"}) { uid street telephone } }",
            json!({"uid": uid(second_id)}),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"]["updateCustomerAddressV2"],
        json!({"uid": uid(second_id), "street": ["9 Elm St"], "telephone": "555"}),
        "{body}"
    );
    let (_, body) = s
        .gql(
            "{ customer { default_billing default_shipping } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"]["customer"],
        json!({"default_billing": second_id.to_string(), "default_shipping": id.to_string()})
    );

    // A default address is refused deletion with Magento's words; a plain one goes.
    let (_, body) = s
        .gql(
            "mutation($id: Int!) { deleteCustomerAddress(id: $id) }",
            json!({"id": second_id}),
            Some(&token),
        )
        .await;
    assert_eq!(
        first_error(&body),
        (
            format!("Customer Address {second_id} is set as default billing address and can not be deleted"),
            "graphql-input".into()
        )
    );
    let (_, body) = s
        .gql(
            "mutation($uid: ID!) { deleteCustomerAddressV2(uid: $uid) }",
            json!({"uid": uid(id)}),
            Some(&token),
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        format!("Customer Address {id} is set as default shipping address and can not be deleted")
    );
    let third = create(
        &s,
        &token,
        json!({"firstname": "A", "lastname": "B", "street": ["x"], "city": "c", "country_code": "IE", "telephone": "1"}),
    )
    .await;
    let third_id = third["id"].as_u64().unwrap();
    let (_, body) = s
        .gql(
            "mutation($uid: ID!) { deleteCustomerAddressV2(uid: $uid) }",
            json!({"uid": uid(third_id)}),
            Some(&token),
        )
        .await;
    assert_eq!(body, json!({"data": {"deleteCustomerAddressV2": true}}));
    let (_, body) = s
        .gql("{ customer { addresses { id } } }", json!({}), Some(&token))
        .await;
    assert_eq!(
        body["data"]["customer"]["addresses"],
        json!([{"id": id}, {"id": second_id}])
    );
}

#[tokio::test]
async fn commerce_refuses_addresses_with_magentos_messages() {
    let s = TestServer::start().await;
    let token = signed_in(&s).await;
    let refused = |input: Value| {
        let s = &s;
        let token = token.clone();
        async move {
            let (status, body) = s.gql(CREATE, json!({"input": input}), Some(&token)).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["data"]["createCustomerAddress"], Value::Null, "{body}");
            first_error(&body)
        }
    };
    let mut no_name = austin();
    no_name["firstname"] = json!("");
    assert_eq!(
        refused(no_name).await,
        (
            "Required parameters are missing: firstname".into(),
            "graphql-input".into()
        )
    );
    assert_eq!(
        refused(json!({"company": "Acme"})).await.0,
        "Required parameters are missing: firstname, lastname, street, city, country_id, postcode, telephone"
    );
    let mut long = austin();
    long["city"] = json!("x".repeat(256));
    assert_eq!(
        refused(long).await.0,
        "\"city\" length must be equal or less than 255 characters."
    );
    let mut lines = austin();
    lines["street"] = json!(["1", "2", "3", "4", "5"]);
    assert_eq!(
        refused(lines).await.0,
        "\"Street Address\" cannot contain more than 4 lines."
    );
    // A country outside CountryCodeEnum fails validation before anything runs.
    let mut country = austin();
    country["country_code"] = json!("XX");
    let (_, body) = s.gql(CREATE, json!({"input": country}), Some(&token)).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CountryCodeEnum"),
        "{body}"
    );

    // Without a token: Magento's authorization message.
    let (_, body) = s.gql(CREATE, json!({"input": austin()}), None).await;
    assert_eq!(
        first_error(&body),
        (
            "The current customer isn't authorized.".into(),
            "graphql-authorization".into()
        )
    );

    let id = create(&s, &token, austin()).await["id"].as_u64().unwrap();
    let update = "mutation($id: Int!, $input: CustomerAddressInput) { updateCustomerAddress(id: $id, input: $input) { id } }";
    let (_, body) = s.gql(update, json!({"id": id}), Some(&token)).await;
    assert_eq!(first_error(&body).0, "\"input\" value should be specified");
    let (_, body) = s
        .gql(
            update,
            json!({"id": id, "input": {"lastname": " "}}),
            Some(&token),
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        "Required parameters are missing: lastname"
    );
    let (_, body) = s
        .gql(
            update,
            json!({"id": id + 100, "input": {"city": "Waco"}}),
            Some(&token),
        )
        .await;
    assert_eq!(
        first_error(&body),
        (
            format!("Could not find a address with ID \"{}\"", id + 100),
            "graphql-no-such-entity".into()
        )
    );
    let (_, body) = s
        .gql(
            "mutation { updateCustomerAddressV2(uid: \"bm90IGFuIGlk\", input: {city: \"Waco\"}) { id } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        "Value of uid \"bm90IGFuIGlk\" is incorrect."
    );

    // Another customer's address: the not-found answer, and nothing changes.
    s.create_customer("bob@example.com", PASSWORD).await;
    let bob = s.token("bob@example.com", PASSWORD).await;
    let (_, body) = s
        .gql(
            update,
            json!({"id": id, "input": {"city": "Stolen"}}),
            Some(&bob),
        )
        .await;
    assert_eq!(
        first_error(&body),
        (
            format!("Could not find a address with ID \"{id}\""),
            "graphql-no-such-entity".into()
        )
    );
    let (_, body) = s
        .gql(
            "mutation($id: Int!) { deleteCustomerAddress(id: $id) }",
            json!({"id": id}),
            Some(&bob),
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        format!("Could not find a address with ID \"{id}\"")
    );
    let (_, body) = s
        .gql(
            "{ customer { addresses { city } } }",
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"]["customer"]["addresses"],
        json!([{"city": "Austin"}])
    );
}

/// Updating or deleting another customer's address answers exactly as an id that does not
/// exist (status and body, the id aside): the answer tells nothing about other customers.
#[tokio::test]
async fn another_customers_address_is_answered_as_a_missing_one() {
    let s = TestServer::start().await;
    let ann = signed_in(&s).await;
    let theirs = create(&s, &ann, austin()).await["id"].as_u64().unwrap();
    let missing = theirs + 1000;
    s.create_customer("bob@example.com", PASSWORD).await;
    let bob = s.token("bob@example.com", PASSWORD).await;
    let mutations = [
        (
            "mutation($id: Int!) { updateCustomerAddress(id: $id, input: {city: \"Stolen\"}) { id } }",
            false,
        ),
        ("mutation($id: Int!) { deleteCustomerAddress(id: $id) }", false),
        (
            "mutation($id: ID!) { updateCustomerAddressV2(uid: $id, input: {city: \"Stolen\"}) { id } }",
            true,
        ),
        ("mutation($id: ID!) { deleteCustomerAddressV2(uid: $id) }", true),
    ];
    for (mutation, by_uid) in mutations {
        let answer = |id: u64| {
            let (s, bob) = (&s, &bob);
            async move {
                let var = if by_uid { json!(uid(id)) } else { json!(id) };
                let (status, mut body) = s.gql(mutation, json!({ "id": var }), Some(bob)).await;
                let message = &mut body["errors"][0]["message"];
                let text = message.as_str().unwrap_or_default();
                *message = json!(text.replace(&format!("\"{id}\""), "\"<id>\""));
                (status, body)
            }
        };
        let (not_yours, not_found) = (answer(theirs).await, answer(missing).await);
        assert_eq!(not_yours, not_found, "{mutation}");
        assert_eq!(
            not_found.1["errors"][0]["message"], "Could not find a address with ID \"<id>\"",
            "{mutation}"
        );
    }
    let (_, body) = s
        .gql("{ customer { addresses { city } } }", json!({}), Some(&ann))
        .await;
    assert_eq!(
        body["data"]["customer"]["addresses"],
        json!([{"city": "Austin"}])
    );
}

#[tokio::test]
async fn commerce_refuses_the_101st_address() {
    let s = TestServer::start().await;
    let token = signed_in(&s).await;
    let id = storekey::model::CustomerId(1);
    for _ in 0..100 {
        let made = s
            .store()
            .create_address(
                id,
                storekey::model::Address::default(),
                Default::default(),
                100,
            )
            .await
            .unwrap();
        assert!(matches!(made, storekey::store::AddressOutcome::Done(..)));
    }
    let (_, body) = s
        .gql(CREATE, json!({"input": austin()}), Some(&token))
        .await;
    assert_eq!(
        first_error(&body),
        (
            "A customer can have at most 100 addresses.".into(),
            "graphql-input".into()
        )
    );
}

// ------------------------------------------------------------------------------ Storefront

/// A storefront token with the customer scopes, and Ann's Storefront access token.
async fn storefront(s: &TestServer) -> (String, String) {
    let (_, token) = s
        .auth()
        .create_storefront_token(
            "test",
            "test storefront",
            vec!["unauthenticated_write_customers".into()],
            storekey::model::StorefrontTokenKind::Public,
        )
        .await
        .unwrap();
    let storefront = token.expose().to_string();
    s.create_customer(ANN, PASSWORD).await;
    let body = sf(
        s,
        &storefront,
        "mutation($e:String!,$p:String!){ customerAccessTokenCreate(input:{email:$e, password:$p}) { customerAccessToken { accessToken } } }",
        json!({"e": ANN, "p": PASSWORD}),
    )
    .await;
    let access = body["data"]["customerAccessTokenCreate"]["customerAccessToken"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    (storefront, access)
}

const SF_FIELDS: &str = "id firstName lastName name company address1 address2 city province \
    provinceCode zip country countryCode countryCodeV2 phone formatted formattedArea \
    withName: formatted(withName: true, withCompany: false) latitude longitude";

fn sf_create() -> String {
    format!("mutation($t:String!,$a:MailingAddressInput!){{ customerAddressCreate(customerAccessToken:$t, address:$a) {{ customerAddress {{ {SF_FIELDS} }} customerUserErrors {{ code field message }} userErrors {{ field message }} }} }}")
}

fn gid(id: u64) -> String {
    format!("gid://shopify/MailingAddress/{id}?model_name=CustomerAddress")
}

/// The Hydrogen demo store's account page reads (without `orders`).
const ACCOUNT_PAGE: &str = "query($t:String!){ customer(customerAccessToken:$t) { firstName \
    lastName phone email defaultAddress { id formatted firstName lastName company address1 \
    address2 country province city zip phone } addresses(first: 6) { edges { node { id \
    formatted firstName lastName company address1 address2 country province city zip phone } } } } }";

fn address_id(gid: &Value) -> u64 {
    let text = gid.as_str().unwrap();
    text.strip_prefix("gid://shopify/MailingAddress/")
        .and_then(|r| r.split('?').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

#[tokio::test]
async fn storefront_creates_lists_updates_and_deletes_addresses() {
    let s = TestServer::start().await;
    let (storefront, token) = storefront(&s).await;
    let body = sf(
        &s,
        &storefront,
        &sf_create(),
        json!({"t": token, "a": {
            "firstName": "Ann", "lastName": "Lee", "company": "Acme", "address1": "1 Main St",
            "address2": "Suite 2", "city": "Austin", "province": "TX", "zip": "78701",
            "country": "United States", "phone": "+1 512 555 0100"
        }}),
    )
    .await;
    let payload = &body["data"]["customerAddressCreate"];
    assert_eq!(payload["customerUserErrors"], json!([]), "{body}");
    let first = address_id(&payload["customerAddress"]["id"]);
    assert_eq!(
        payload["customerAddress"],
        json!({
            "id": gid(first), "firstName": "Ann", "lastName": "Lee", "name": "Ann Lee",
            "company": "Acme", "address1": "1 Main St", "address2": "Suite 2", "city": "Austin",
            "province": "TX", "provinceCode": "TX", "zip": "78701", "country": "United States",
            "countryCode": "US", "countryCodeV2": "US", "phone": "+1 512 555 0100",
            "formatted": ["Acme", "1 Main St", "Suite 2", "Austin TX 78701", "United States"],
            "formattedArea": "Austin, TX, United States",
            "withName": ["Ann Lee", "1 Main St", "Suite 2", "Austin TX 78701", "United States"],
            "latitude": null, "longitude": null
        })
    );
    let body = sf(
        &s,
        &storefront,
        &sf_create(),
        json!({"t": token, "a": {"firstName": "Ann", "address1": "9 Bank St", "city": "Ottawa", "province": "Ontario", "country": "CA"}}),
    )
    .await;
    let second = address_id(&body["data"]["customerAddressCreate"]["customerAddress"]["id"]);
    assert_eq!(
        body["data"]["customerAddressCreate"]["customerAddress"]["province"],
        "Ontario"
    );

    // The first address became the default; the account page reads both.
    let body = sf(&s, &storefront, ACCOUNT_PAGE, json!({"t": token})).await;
    let customer = &body["data"]["customer"];
    assert_eq!(
        customer["defaultAddress"]["id"],
        json!(gid(first)),
        "{body}"
    );
    let nodes: Vec<Value> = customer["addresses"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].clone())
        .collect();
    assert_eq!(nodes, [json!(gid(first)), json!(gid(second))]);

    // Paging: one at a time, with cursors.
    let paged = "query($t:String!,$after:String){ customer(customerAccessToken:$t) { addresses(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage hasPreviousPage endCursor } } } }";
    let body = sf(&s, &storefront, paged, json!({"t": token})).await;
    let page = &body["data"]["customer"]["addresses"];
    assert_eq!(page["nodes"], json!([{"id": gid(first)}]));
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let after = page["pageInfo"]["endCursor"].clone();
    let body = sf(&s, &storefront, paged, json!({"t": token, "after": after})).await;
    let page = &body["data"]["customer"]["addresses"];
    assert_eq!(page["nodes"], json!([{"id": gid(second)}]));
    assert_eq!(
        (
            &page["pageInfo"]["hasNextPage"],
            &page["pageInfo"]["hasPreviousPage"]
        ),
        (&json!(false), &json!(true))
    );

    // An update of address2 keeps address1; the default moves.
    let body = sf(
        &s,
        &storefront,
        "mutation($t:String!,$id:ID!){ customerAddressUpdate(customerAccessToken:$t, id:$id, address:{address2: \"Apt 7\", zip: \"K1P 1J1\"}) { customerAddress { address1 address2 zip } customerUserErrors { code field message } } }",
        json!({"t": token, "id": gid(second)}),
    )
    .await;
    assert_eq!(
        body["data"]["customerAddressUpdate"],
        json!({"customerAddress": {"address1": "9 Bank St", "address2": "Apt 7", "zip": "K1P 1J1"}, "customerUserErrors": []})
    );
    let body = sf(
        &s,
        &storefront,
        "mutation($t:String!,$id:ID!){ customerDefaultAddressUpdate(customerAccessToken:$t, addressId:$id) { customer { defaultAddress { id } } customerUserErrors { code field message } } }",
        json!({"t": token, "id": gid(second)}),
    )
    .await;
    assert_eq!(
        body["data"]["customerDefaultAddressUpdate"],
        json!({"customer": {"defaultAddress": {"id": gid(second)}}, "customerUserErrors": []})
    );

    // Deleting the default address is allowed here, and leaves no default.
    let body = sf(
        &s,
        &storefront,
        "mutation($t:String!,$id:ID!){ customerAddressDelete(customerAccessToken:$t, id:$id) { deletedCustomerAddressId customerUserErrors { code field message } } }",
        json!({"t": token, "id": gid(second)}),
    )
    .await;
    assert_eq!(
        body["data"]["customerAddressDelete"],
        json!({"deletedCustomerAddressId": gid(second), "customerUserErrors": []})
    );
    let body = sf(&s, &storefront, ACCOUNT_PAGE, json!({"t": token})).await;
    assert_eq!(body["data"]["customer"]["defaultAddress"], Value::Null);
    assert_eq!(
        body["data"]["customer"]["addresses"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn storefront_refuses_addresses_with_customer_user_errors() {
    let s = TestServer::start().await;
    let (storefront, token) = storefront(&s).await;
    let errors =
        |body: &Value, mutation: &str| body["data"][mutation]["customerUserErrors"].clone();
    let body = sf(
        &s,
        &storefront,
        &sf_create(),
        json!({"t": token, "a": {"country": "Atlantis", "firstName": "x".repeat(256)}}),
    )
    .await;
    assert_eq!(
        body["data"]["customerAddressCreate"]["customerAddress"],
        Value::Null
    );
    assert_eq!(
        errors(&body, "customerAddressCreate"),
        json!([
            {"code": "INVALID", "field": ["address", "country"], "message": "Country is invalid"},
            {"code": "TOO_LONG", "field": ["address", "firstName"], "message": "First name is too long (maximum is 255 characters)"}
        ])
    );
    assert_eq!(
        body["data"]["customerAddressCreate"]["userErrors"],
        json!([
            {"field": ["address", "country"], "message": "Country is invalid"},
            {"field": ["address", "firstName"], "message": "First name is too long (maximum is 255 characters)"}
        ])
    );

    // Someone else's address, an unknown one and a malformed id are all "does not exist".
    s.create_customer("bob@example.com", PASSWORD).await;
    let bob = s
        .auth()
        .customer_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let theirs = s
        .auth()
        .create_address(bob, Default::default(), Default::default())
        .await
        .unwrap()
        .id;
    let not_found =
        json!([{"code": "NOT_FOUND", "field": ["id"], "message": "Address does not exist"}]);
    for id in [
        gid(theirs.0),
        gid(theirs.0 + 50),
        "gid://shopify/Customer/1".into(),
    ] {
        let body = sf(
            &s,
            &storefront,
            "mutation($t:String!,$id:ID!){ customerAddressDelete(customerAccessToken:$t, id:$id) { deletedCustomerAddressId customerUserErrors { code field message } } }",
            json!({"t": token, "id": id}),
        )
        .await;
        assert_eq!(errors(&body, "customerAddressDelete"), not_found, "{id}");
        assert_eq!(
            body["data"]["customerAddressDelete"]["deletedCustomerAddressId"],
            Value::Null
        );
    }
    let body = sf(
        &s,
        &storefront,
        "mutation($t:String!,$id:ID!){ customerDefaultAddressUpdate(customerAccessToken:$t, addressId:$id) { customer { id } customerUserErrors { code field message } } }",
        json!({"t": token, "id": gid(theirs.0)}),
    )
    .await;
    assert_eq!(
        errors(&body, "customerDefaultAddressUpdate"),
        json!([{"code": "NOT_FOUND", "field": ["addressId"], "message": "Address does not exist"}])
    );
    assert_eq!(
        s.auth().addresses(bob).await.unwrap().default_shipping,
        None
    );

    // A dead customer token: Shopify's access-denied error.
    let body = sf(
        &s,
        &storefront,
        &sf_create(),
        json!({"t": "nope", "a": {"city": "x"}}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["message"],
        "CustomerAddressCreate access denied"
    );
    // The connection wants `first` or `last`, at most 250.
    for args in ["", "(first: 251)"] {
        let query = format!("query($t:String!){{ customer(customerAccessToken:$t) {{ addresses{args} {{ nodes {{ id }} }} }} }}");
        let body = sf(&s, &storefront, &query, json!({"t": token})).await;
        let expected = if args.is_empty() {
            "you must provide one of first or last"
        } else {
            "The maximum number of records per page is 250"
        };
        assert_eq!(body["errors"][0]["message"], expected, "{body}");
    }
}

#[tokio::test]
async fn the_same_addresses_are_seen_and_edited_through_both_dialects() {
    let s = TestServer::start().await;
    let (storefront, sf_token) = storefront(&s).await;
    let commerce = s.token(ANN, PASSWORD).await;
    // Commerce: a billing default and a shipping default.
    let billing = create(&s, &commerce, austin()).await["id"]
        .as_u64()
        .unwrap();
    let (_, body) = s
        .gql(
            "mutation($id: Int!) { updateCustomerAddress(id: $id, input: {default_shipping: false}) { id } }",
            json!({"id": billing}),
            Some(&commerce),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let mut dallas = austin();
    dallas["city"] = json!("Dallas");
    dallas["default_billing"] = json!(false);
    let shipping = create(&s, &commerce, dallas).await["id"].as_u64().unwrap();

    // Storefront: the same two, and the default is the shipping one.
    let body = sf(&s, &storefront, ACCOUNT_PAGE, json!({"t": sf_token})).await;
    let customer = &body["data"]["customer"];
    assert_eq!(
        customer["defaultAddress"]["id"],
        json!(gid(shipping)),
        "{body}"
    );
    assert_eq!(customer["defaultAddress"]["city"], "Dallas");
    assert_eq!(customer["defaultAddress"]["province"], "Texas");
    let ids: Vec<u64> = customer["addresses"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| address_id(&e["node"]["id"]))
        .collect();
    assert_eq!(ids, [billing, shipping]);

    // Storefront adds one and makes it the default: Commerce sees it as default shipping,
    // with the billing default untouched.
    let body = sf(
        &s,
        &storefront,
        &sf_create(),
        json!({"t": sf_token, "a": {"firstName": "Ann", "lastName": "Lee", "address1": "5 Rue Oberkampf", "city": "Paris", "zip": "75011", "country": "FR", "phone": "+33 1"}}),
    )
    .await;
    let paris = address_id(&body["data"]["customerAddressCreate"]["customerAddress"]["id"]);
    sf(
        &s,
        &storefront,
        "mutation($t:String!,$id:ID!){ customerDefaultAddressUpdate(customerAccessToken:$t, addressId:$id) { customerUserErrors { code } } }",
        json!({"t": sf_token, "id": gid(paris)}),
    )
    .await;
    let (_, body) = s
        .gql(
            "{ customer { default_billing default_shipping addresses { id uid city street country_code postcode default_shipping } } }",
            json!({}),
            Some(&commerce),
        )
        .await;
    let customer = &body["data"]["customer"];
    assert_eq!(customer["default_billing"], json!(billing.to_string()));
    assert_eq!(customer["default_shipping"], json!(paris.to_string()));
    assert_eq!(
        customer["addresses"][2],
        json!({"id": paris, "uid": uid(paris), "city": "Paris", "street": ["5 Rue Oberkampf"], "country_code": "FR", "postcode": "75011", "default_shipping": true})
    );
    // Commerce refuses to delete it (a default), the Storefront may.
    let (_, body) = s
        .gql(
            "mutation($id: Int!) { deleteCustomerAddress(id: $id) }",
            json!({"id": paris}),
            Some(&commerce),
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        format!(
            "Customer Address {paris} is set as default shipping address and can not be deleted"
        )
    );
}
