// /docs: Swagger UI on /openapi.json, with "Try it out" requests signed as BadgeKit clients sign
// them (DESIGN.md, Authentication): a fresh HS256 JWT for each request, made in the page with
// WebCrypto from the key and secret typed into it. The secret never leaves the page and is never
// stored. Loaded as a file: the page's Content-Security-Policy allows no inline script.
"use strict";

(function () {
  // Seconds a token is valid: long enough for a slow request, far under AUTH_MAX_TOKEN_TTL_S.
  const TOKEN_TTL_S = 60;
  const encoder = new TextEncoder();

  function base64url(bytes) {
    let binary = "";
    for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function mint(secret, claims) {
    const head = base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
    const payload = base64url(encoder.encode(JSON.stringify(claims)));
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const signed = await crypto.subtle.sign("HMAC", key, encoder.encode(`${head}.${payload}`));
    return `${head}.${payload}.${base64url(signed)}`;
  }

  // The bytes the browser will send, and their content type: a multipart body gets its boundary
  // only when serialised, so it is serialised here, once, and those exact bytes are sent.
  async function serialised(request) {
    const draft = new Request(request.url, { method: request.method, body: request.body });
    return { bytes: await draft.arrayBuffer(), type: draft.headers.get("Content-Type") };
  }

  function signer(form) {
    return async function sign(request) {
      const key = form.elements.key.value.trim();
      const secret = form.elements.secret.value;
      const url = new URL(request.url, document.baseURI);
      // Only requests to this gateway, and only once a secret is given: without one, whatever
      // was pasted into "Authorize" (a ready-made token) goes as it is.
      if (!secret || !key || url.origin !== location.origin || !crypto.subtle) return request;
      const method = request.method.toUpperCase();
      const claims = {
        key,
        method,
        path: url.pathname + url.search,
        exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_S,
      };
      if (request.body !== undefined && request.body !== null) {
        const { bytes, type } = await serialised(request);
        claims.body = { alg: "sha256", hash: hex(await crypto.subtle.digest("SHA-256", bytes)) };
        request.body = bytes;
        if (type && type.startsWith("multipart/")) {
          // Swagger UI drops a multipart Content-Type after this interceptor (to let the browser
          // choose a boundary); the bytes hashed carry this one, so it is sent as it is.
          request.userFetch = (target, options) =>
            fetch(target, { ...options, headers: { ...options.headers, "Content-Type": type } });
        }
      }
      request.headers.Authorization = `JWT token="${await mint(secret, claims)}"`;
      return request;
    };
  }

  // What Swagger UI's markup leaves out and WCAG asks for, filled in as its React tree renders
  // (React leaves attributes it does not manage alone).
  const label = (text) => (el) => el.setAttribute("aria-label", text);
  const MENDS = [
    // The request body's textarea has no label.
    ["textarea.body-param__text:not([aria-label])", label("Request body")],
    // A form body's fields are named only by their placeholder.
    [
      ".opblock-section-request-body input[placeholder]:not([aria-label])",
      (el) => el.setAttribute("aria-label", el.getAttribute("placeholder")),
    ],
    // The copy buttons show only an icon.
    [".copy-to-clipboard > button:not([aria-label])", label("Copy to clipboard")],
    // Code blocks scroll sideways, so a keyboard must be able to reach them.
    [
      ".highlight-code > pre:not([tabindex]), .curl:not([tabindex])",
      (el) => el.setAttribute("tabindex", "0"),
    ],
  ];

  function mend(root) {
    for (const [selector, fix] of MENDS) root.querySelectorAll(selector).forEach(fix);
  }

  function start() {
    const root = document.getElementById("swagger-ui");
    const form = document.getElementById("signing");
    form.addEventListener("submit", (event) => event.preventDefault());
    form.hidden = false;
    if (!window.crypto || !crypto.subtle) {
      // WebCrypto exists only in secure contexts (HTTPS, or localhost).
      document.getElementById("signing-insecure").hidden = false;
    }
    new MutationObserver(() => mend(root)).observe(root, { childList: true, subtree: true });
    window.ui = SwaggerUIBundle({
      url: root.dataset.specUrl,
      domNode: root,
      presets: [SwaggerUIBundle.presets.apis],
      // A deep link would be a link inside each operation's button (axe: nested-interactive).
      deepLinking: false,
      // 150-odd operations: the page opens on their tags, each a click away.
      docExpansion: "none",
      // The highlighter's themes colour some tokens under WCAG's 4.5:1 contrast (the default's
      // numbers: 3.45:1 on its dark grey); plain text reads as well.
      syntaxHighlight: false,
      // The default sends the document to validator.swagger.io; nothing leaves this gateway.
      validatorUrl: null,
      requestInterceptor: signer(form),
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
