// Passkeys on storekey's hosted pages and console (SPEC §11). The only script these pages load
// (CSP script-src 'self'): it speaks WebAuthn Level 3's JSON forms to the server, sending the
// page's CSRF token (<meta name="csrf-token">) in X-CSRF-Token. Elements opt in with data-*
// attributes; a page without them runs nothing.
//
//   [data-passkey-sign-in]   a button: sign in with a passkey. data-options / data-finish are
//                            the endpoints; data-return-to is sent back and followed. The
//                            page's [autocomplete~="webauthn"] field also offers passkeys in
//                            the browser's autofill (conditional mediation) where supported.
//   [data-passkey-add]       a form: add a passkey, named by its [name="name"] field.
//   [data-passkey-status]    where a refusal is written (role="alert").
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: fromB64url(d.id) });
    });
  }

  // PublicKeyCredential.parse*OptionsFromJSON where the browser has them, else by hand.
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.user = Object.assign({}, json.user, { id: fromB64url(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = fromB64url(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  // credential.toJSON() where the browser has it, else the same shape by hand.
  function credentialJSON(c) {
    if (typeof c.toJSON === "function") {
      return c.toJSON();
    }
    var r = c.response;
    var response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
    }
    return {
      id: c.id,
      rawId: toB64url(c.rawId),
      type: c.type,
      response: response,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      authenticatorAttachment: c.authenticatorAttachment || null,
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (resp) {
      return resp
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (!resp.ok) {
            throw new Error(data.error || resp.statusText);
          }
          return data;
        });
    });
  }

  function say(text) {
    var status = document.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }

  // A cancelled or timed-out browser prompt is not an error worth showing.
  function quiet(e) {
    return e && (e.name === "AbortError" || e.name === "NotAllowedError");
  }

  // ---------------------------------------------------------------- sign in

  var signIn = document.querySelector("[data-passkey-sign-in]");
  var pending = null;

  function signInWith(mediation) {
    if (pending) pending.abort();
    var controller = new AbortController();
    pending = controller;
    var ds = signIn.dataset;
    return post(ds.options)
      .then(function (options) {
        var request = { publicKey: requestOptions(options), signal: controller.signal };
        if (mediation) request.mediation = mediation;
        return navigator.credentials.get(request);
      })
      .then(function (credential) {
        var body = credentialJSON(credential);
        return post(ds.finish + "?return_to=" + encodeURIComponent(ds.returnTo || ""), body);
      })
      .then(function (done) {
        window.location.assign(done.location);
      })
      .catch(function (e) {
        if (!quiet(e)) say(e.message);
      });
  }

  if (signIn) {
    signIn.hidden = false;
    signIn.addEventListener("click", function () {
      say("");
      signInWith(null);
    });
    var autofill = document.querySelector('[autocomplete~="webauthn"]');
    if (autofill && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) signInWith("conditional");
      });
    }
  }

  // ---------------------------------------------------------------- add

  var add = document.querySelector("[data-passkey-add]");
  if (add) {
    add.hidden = false;
    add.addEventListener("submit", function (event) {
      event.preventDefault();
      say("");
      var ds = add.dataset;
      var name = add.querySelector('[name="name"]').value;
      post(ds.options)
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (credential) {
          return post(ds.finish, { name: name, credential: credentialJSON(credential) });
        })
        .then(function (done) {
          window.location.assign(done.location || window.location.href);
        })
        .catch(function (e) {
          if (!quiet(e)) say(e.message);
        });
    });
  }
})();
