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

    // Another customer's address: Magento's permission message, and nothing changes.
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
            format!("Current customer does not have permission to address with ID \"{id}\""),
            "graphql-authorization".into()
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
        format!("Current customer does not have permission to address with ID \"{id}\"")
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
