// storekey's explorer: mounts GraphiQL (loaded before this file from the same server) on
// #graphiql, talking to the GraphQL path named in its data-endpoint. No inline script: the page's
// Content-Security-Policy allows scripts from this server only.
(function () {
  'use strict';

  var mount = document.getElementById('graphiql');
  var endpoint = mount.getAttribute('data-endpoint');
  var dialect = mount.getAttribute('data-dialect');
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  var root = ReactDOM.createRoot(mount);

  var props = {
    fetcher: fetcher,
    // Each dialect keeps its own tabs and history: the two schemas share no query.
    storage: GraphiQL.createLocalStorage({ namespace: 'storekey-' + dialect }),
  };

  function render() {
    root.render(React.createElement(GraphiQL, props));
  }

  if (dialect !== 'storefront') {
    // The Commerce endpoint answers introspection without credentials: GraphiQL fetches the
    // schema itself on load.
    props.defaultQuery = '# The Adobe Commerce dialect. Ctrl+Space completes; the book icon opens the docs.\n' +
      '{\n  storeConfig {\n    store_code\n  }\n}\n';
    render();
    return;
  }

  // The Storefront endpoint answers nothing, introspection included, without a storefront
  // token (HTTP 401, as Shopify does). GraphiQL introspects only once, on load, with the headers
  // it starts with, so this page introspects itself each time the Headers pane holds a token
  // and hands GraphiQL the result; until then GraphiQL has no schema rather than an error.
  props.defaultEditorToolsVisibility = 'headers';
  props.defaultHeaders = '{\n  "X-Shopify-Storefront-Access-Token": ""\n}';
  props.defaultQuery = '# The Shopify Storefront dialect. Put a storefront access token in the Headers\n' +
    '# pane below: the schema (completion with Ctrl+Space, the docs) loads once it is accepted.\n' +
    '{\n  __typename\n}\n';
  props.schema = null;

  var introspection = {
    query: GraphiQL.GraphQL.getIntrospectionQuery(),
    operationName: 'IntrospectionQuery',
  };
  var tried = null;
  var timer = null;

  function headersWithAToken(text) {
    var headers;
    try {
      headers = JSON.parse(text);
    } catch (e) {
      return null;
    }
    if (!headers || typeof headers !== 'object') {
      return null;
    }
    var anyValue = Object.keys(headers).some(function (k) {
      return typeof headers[k] === 'string' && headers[k].trim() !== '';
    });
    return anyValue ? headers : null;
  }

  function introspect(text) {
    var headers = headersWithAToken(text);
    if (!headers || text === tried) {
      return;
    }
    tried = text;
    Promise.resolve(fetcher(introspection, { headers: headers })).then(function (result) {
      if (text !== tried) {
        return; // The headers changed while this ran; the newer attempt decides.
      }
      if (result && result.data && result.data.__schema) {
        props.schema = result.data;
      } else {
        props.schema = null;
      }
      render();
    }, function () {
      if (text === tried) {
        props.schema = null;
        render();
      }
    });
  }

  props.onEditHeaders = function (text) {
    clearTimeout(timer);
    timer = setTimeout(function () { introspect(text); }, 300);
  };

  render();
})();
