// The connect page: sets up one storage config, or rotates the
// credentials of one (a session of purpose rotate), with a connect
// session's token alone (from the URL fragment, #session=...). No API key
// ever reaches this page. Plain JavaScript, no build step, no third-party
// code.
"use strict";

(function () {
  const API = "/api/v1/storage-configs/";
  const $ = (id) => document.getElementById(id);
  let token = "";
  let setup = null;      // setup-info, with connect_session
  let signedUrl = "";    // from a connected bucket verify
  let verified = false;  // the last run of the checks passed
  let rotating = null;   // the config a rotate session rotates (its GET)
  let corsReport = null; // the bucket verify's CORS check from the app origins

  // The auth methods of each provider, and the form fields of each.
  const AUTH = {
    aws_s3: [["access_key", "Access key"], ["iam_role", "IAM role (recommended)"]],
    s3_compatible: [["access_key", "Access key"]],
    gc_storage: [["service_account", "Service-account JSON key"], ["hmac", "HMAC key"], ["impersonation", "Impersonation (no key)"]],
    azure_blob: [["account_key", "Storage account key"], ["sas_token", "SAS token"],
      ["service_principal", "Service principal (Entra ID client secret)"], ["workload_identity", "Workload identity (no secret)"]],
  };
  const F = (id, label, opts) => Object.assign({ id, label }, opts || {});
  const GUID = { placeholder: "00000000-0000-0000-0000-000000000000" };
  const AZURE_PRINCIPAL = [F("azure_tenant_id", "Directory (tenant) ID", GUID), F("azure_client_id", "Application (client) ID", GUID)];
  const FIELDS = {
    aws_s3: {
      common: [F("s3_bucket_name", "Bucket"), F("s3_bucket_region", "Region", { placeholder: "us-east-1" }), F("s3_bucket_prefix", "Prefix (optional)", { optional: true })],
      access_key: [F("s3_access_key_id", "Access key id"), F("s3_secret_access_key", "Secret access key", { secret: true })],
      iam_role: [F("s3_role_arn", "Role ARN", { placeholder: "arn:aws:iam::123456789012:role/bucketlink" })],
    },
    s3_compatible: {
      common: [F("s3_endpoint_url", "Endpoint URL", { placeholder: "https://minio.example.com" }), F("s3_bucket_name", "Bucket"),
        F("s3_bucket_region", "Region (optional)", { optional: true }), F("s3_bucket_prefix", "Prefix (optional)", { optional: true })],
      access_key: [F("s3_access_key_id", "Access key id"), F("s3_secret_access_key", "Secret access key", { secret: true })],
    },
    gc_storage: {
      common: [F("gc_storage_bucket_name", "Bucket"), F("gc_storage_prefix", "Prefix (optional)", { optional: true })],
      service_account: [F("gc_storage_auth_json_content", "Service-account JSON key", { textarea: true, secret: true })],
      hmac: [F("gc_storage_hmac_access_id", "HMAC access id"), F("gc_storage_hmac_secret", "HMAC secret", { secret: true })],
      impersonation: [F("gc_storage_service_account_email", "Service account e-mail", { placeholder: "bucketlink@PROJECT.iam.gserviceaccount.com" })],
    },
    azure_blob: {
      common: [F("azure_account_name", "Storage account name"), F("azure_container_name", "Container"),
        F("azure_endpoint_url", "Endpoint URL (optional)", { optional: true, placeholder: "https://<account>.blob.core.windows.net/" }),
        F("azure_prefix", "Prefix (optional)", { optional: true })],
      account_key: [F("azure_account_key", "Account key", { secret: true })],
      sas_token: [F("azure_sas_token", "SAS token", { secret: true })],
      service_principal: [...AZURE_PRINCIPAL, F("azure_client_secret", "Client secret", { secret: true })],
      workload_identity: AZURE_PRINCIPAL,
    },
  };

  // The bucket-verify API's field names, and the page's field each means.
  const VERIFY_FIELDS = {
    aws_s3: { bucket: "s3_bucket_name", accessKey: "s3_access_key_id", secretKey: "s3_secret_access_key", region: "s3_bucket_region", prefix: "s3_bucket_prefix" },
    s3_compatible: { bucket: "s3_bucket_name", accessKey: "s3_access_key_id", secretKey: "s3_secret_access_key", region: "s3_bucket_region", prefix: "s3_bucket_prefix", endpoint: "s3_endpoint_url" },
    gc_storage: { bucket: "gc_storage_bucket_name", accessKey: "gc_storage_hmac_access_id", secretKey: "gc_storage_hmac_secret", prefix: "gc_storage_prefix" },
    azure_blob: { bucket: "azure_container_name", accessKey: "azure_account_name", secretKey: "azure_account_key", prefix: "azure_prefix", endpoint: "azure_endpoint_url" },
  };
  const VERIFY_PROVIDER = { aws_s3: "s3", s3_compatible: "other", gc_storage: "google", azure_blob: "azure" };
  // The checks a verification runs, shown while it runs.
  const EXPECTED_CHECKS = ["list", "read", "write", "delete", "presign"];

  const provider = () => $("provider").value;
  const auth = () => $("auth").value;
  const accessMode = () => $("access_mode").value;
  const val = (id) => ($(id) ? $(id).value.trim() : "");

  function api(method, path, body) {
    const headers = { "X-Connect-Session": token, "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit", cache: "no-store" })
      .then((resp) => resp.text().then((text) => {
        let data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { detail: text }; }
        return { status: resp.status, data };
      }));
  }

  function banner(msg, ok) {
    const b = $("banner");
    b.textContent = msg;
    b.className = ok ? "banner ok" : "banner";
    b.hidden = !msg;
  }

  function setStatus(id, msg, cls) {
    const el = $(id);
    el.textContent = msg;
    el.className = "status" + (cls ? " " + cls : "");
  }

  // --- step 1: provider, auth method, guidance -------------------------
  function fillAuth() {
    const sel = $("auth");
    sel.textContent = "";
    for (const [value, label] of AUTH[provider()]) {
      const o = document.createElement("option");
      o.value = value; o.textContent = label;
      sel.appendChild(o);
    }
    onAuthChange();
  }

  function onAuthChange() {
    renderFields();
    renderGuidance();
    resetChecks();
  }

  function block(title, id, text) {
    const wrap = document.createElement("div");
    const h = document.createElement("h3"); h.textContent = title;
    const pre = document.createElement("pre"); pre.id = id; pre.tabIndex = 0; pre.textContent = text;
    const b = document.createElement("button"); b.type = "button"; b.className = "copy"; b.dataset.copy = id; b.textContent = "Copy";
    b.setAttribute("aria-label", "Copy " + title.toLowerCase());
    wrap.append(h, pre, b);
    return wrap;
  }

  function hintPara(text) {
    const p = document.createElement("p"); p.className = "hint"; p.textContent = text; return p;
  }

  // The bucket and prefix fields of each provider, and a name that
  // passes the provider's rules, for the grant's shape before one is typed.
  const BUCKET_FIELD = { aws_s3: "s3_bucket_name", s3_compatible: "s3_bucket_name", gc_storage: "gc_storage_bucket_name", azure_blob: "azure_container_name" };
  const PREFIX_FIELD = { aws_s3: "s3_bucket_prefix", s3_compatible: "s3_bucket_prefix", gc_storage: "gc_storage_prefix", azure_blob: "azure_prefix" };
  const PLACEHOLDER_BUCKET = { azure_blob: "your-container" };
  let guidanceSeq = 0, guidanceTimer = 0;

  function scheduleGuidance() {
    clearTimeout(guidanceTimer);
    guidanceTimer = setTimeout(renderGuidance, 300);
  }

  // fetchGuidance asks setup-info for the grant of a bucket and prefix
  // (package policy's guidance); null when it answers otherwise (a bucket
  // name the provider's rules refuse answers 400).
  async function fetchGuidance(p, bucket, prefix, mode) {
    const q = new URLSearchParams({ provider: p, bucket: bucket, access_mode: mode });
    if (prefix) q.set("prefix", prefix);
    try {
      const { status, data } = await api("GET", API + "setup-info/?" + q.toString());
      return status === 200 && data.guidance ? data.guidance : null;
    } catch (e) {
      return null;
    }
  }

  // renderGuidance shows the grant for the chosen provider and auth method,
  // as setup-info writes it for the bucket and prefix typed so far (or a
  // placeholder bucket while none, or no valid one, is typed).
  async function renderGuidance() {
    if (!setup) return;
    const seq = ++guidanceSeq;
    const p = provider(), a = auth(), mode = accessMode();
    $("guidance").dataset.state = "loading";
    const typed = val(BUCKET_FIELD[p]);
    let g = typed ? await fetchGuidance(p, typed, val(PREFIX_FIELD[p]), mode) : null;
    if (!g) g = await fetchGuidance(p, PLACEHOLDER_BUCKET[p] || "your-bucket", "", mode);
    if (seq !== guidanceSeq || p !== provider() || a !== auth() || mode !== accessMode()) return; // a newer one is on its way
    const box = $("guidance");
    box.textContent = "";
    box.dataset.bucket = g ? g.bucket : "";
    box.dataset.prefix = g ? g.prefix : "";
    box.dataset.for = p + "/" + a;
    box.dataset.mode = mode;
    box.dataset.state = g ? "ready" : "failed";
    if (!g) { box.append(hintPara("The permissions to grant could not be loaded; reload the page to try again.")); return; }
    if (g.aws) awsGuidance(box, g, a);
    else if (g.gcs) gcsGuidance(box, g, a);
    else if (g.azure) azureGuidance(box, g, a);
  }

  function awsGuidance(box, g, a) {
    if (a === "iam_role" && g.aws.trust_policy) {
      box.append(hintPara("Create a role in your account that our account (" + setup.avala_aws_account_id +
        ") may assume only with your organization's external id, " + setup.external_id + ", and attach the permissions policy to it."));
      box.append(block("Trust policy", "trust-policy", JSON.stringify(g.aws.trust_policy, null, 2)));
    } else {
      box.append(hintPara("Attach this policy to the user whose access key you enter below: it allows only what the checks and the platform need, on this bucket and prefix."));
    }
    box.append(block("Permissions policy", "permissions-policy", JSON.stringify(g.aws.permissions_policy, null, 2)));
    const kms = (g.aws.notes || []).find((n) => n.includes("KMS"));
    if (kms) box.append(hintPara(kms));
  }

  // googleMember is the IAM member of bucketlink's own Google principal.
  function googleMember(principal) {
    return principal.includes("://") ? principal : "serviceAccount:" + principal;
  }

  function gcsGuidance(box, g, a) {
    if (a === "impersonation") {
      if (!setup.gc_storage_principal) {
        box.append(hintPara("This service has no Google identity to impersonate your service account with: choose another authentication method."));
        return;
      }
      box.append(hintPara("Let our Google identity, " + setup.gc_storage_principal +
        ", create tokens for your service account (no key leaves your project), and give that service account the role below on the bucket."));
      box.append(block("Impersonation (gcloud)", "gcs-impersonation",
        "gcloud iam service-accounts add-iam-policy-binding SERVICE_ACCOUNT_EMAIL \\\n  --member=" +
        googleMember(setup.gc_storage_principal) + " \\\n  --role=roles/iam.serviceAccountTokenCreator"));
    } else {
      box.append(hintPara(a === "hmac"
        ? "Create an HMAC key for a service account (Cloud Storage settings, Interoperability) that has this role on the bucket."
        : "Create a service account, give it this role on the bucket, and paste one of its JSON keys below."));
    }
    box.append(hintPara("Role: " + g.gcs.role + " (or a custom role with exactly " + g.gcs.permissions.join(", ") + ")."));
    box.append(block("Grant (gcloud)", "gcs-grant", g.gcs.commands.join("\n\n")));
  }

  function azureGuidance(box, g, a) {
    if (a === "service_principal" || a === "workload_identity") {
      const fed = setup.azure_federated_credential;
      if (a === "workload_identity" && !fed) {
        box.append(hintPara("This service has no federated identity for your application to trust: choose another authentication method."));
        return;
      }
      box.append(hintPara("Assign the role " + g.azure.role + " on the container to your app registration's service principal " +
        "(az ad sp show --id CLIENT_ID --query id gives its PRINCIPAL_ID); a new assignment can take up to 10 minutes to apply."));
      box.append(block("Role assignment (az)", "azure-role", g.azure.role_command));
      if (a === "workload_identity") {
        box.append(hintPara("Add this federated credential to the app registration (Certificates & secrets, Federated credentials, " +
          "Other issuer), so that bucketlink signs in as it with its own identity and no secret."));
        box.append(block("Federated credential (az)", "azure-federated-credential",
          "az ad app federated-credential create --id CLIENT_ID --parameters " + shellArg(JSON.stringify(
            { name: "bucketlink", issuer: fed.issuer, subject: fed.subject, audiences: [fed.audience] }, null, 2))));
      }
      return;
    }
    if (a === "sas_token") {
      box.append(hintPara("Create a SAS token on the container with the permissions " + g.azure.sas_permissions + " (and no more), and paste it below."));
      box.append(block("SAS token (az)", "azure-sas", g.azure.sas_command));
    } else {
      box.append(hintPara("An account key has every permission. To give less, use a SAS token with the permissions " + g.azure.sas_permissions + "."));
    }
    box.append(hintPara("With Microsoft Entra ID, the role to assign on the container is " + g.azure.role + "."));
    box.append(block("Role assignment (az)", "azure-role", g.azure.role_command));
  }

  // shellArg quotes s for a POSIX shell.
  function shellArg(s) { return "'" + s.replace(/'/g, "'\\''") + "'"; }

  // --- step 2: fields --------------------------------------------------
  function renderFields() {
    const box = $("fields");
    const old = {};
    box.querySelectorAll("input, textarea").forEach((el) => { old[el.id] = el.value; });
    box.textContent = "";
    const spec = FIELDS[provider()];
    for (const f of [...spec.common, ...(spec[auth()] || [])]) {
      const wrap = document.createElement("div"); wrap.className = "field";
      const label = document.createElement("label"); label.htmlFor = f.id; label.textContent = f.label;
      const input = document.createElement(f.textarea ? "textarea" : "input");
      input.id = f.id; input.name = f.id; input.autocomplete = "off"; input.spellcheck = false;
      if (!f.textarea) input.type = f.secret ? "password" : "text";
      if (f.placeholder) input.placeholder = f.placeholder;
      if (!f.optional) input.required = true;
      input.setAttribute("aria-describedby", "err-" + f.id);
      if (old[f.id] !== undefined) input.value = old[f.id];
      input.addEventListener("input", () => { clearFieldError(f.id); resetChecks(); });
      const err = document.createElement("p"); err.className = "error"; err.id = "err-" + f.id; err.hidden = true;
      wrap.append(label, input, err);
      box.appendChild(wrap);
    }
  }

  function clearFieldError(id) {
    const err = $("err-" + id);
    if (err) { err.textContent = ""; err.hidden = true; }
    if ($(id)) $(id).removeAttribute("aria-invalid");
  }

  function clearErrors() {
    document.querySelectorAll(".error").forEach((e) => { e.textContent = ""; e.hidden = true; });
    document.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }

  // showErrors puts each message on the field it names (the storage-config
  // field names); messages of unknown fields go to the form's own line.
  function showErrors(errors) {
    let first = null;
    for (const [field, msgs] of Object.entries(errors)) {
      const text = Array.isArray(msgs) ? msgs.join(" ") : String(msgs);
      let err = $("err-" + field);
      if (!err || !$(field)) err = $("err-non_field_errors");
      err.textContent = (err.textContent ? err.textContent + " " : "") + text;
      err.hidden = false;
      if ($(field)) { $(field).setAttribute("aria-invalid", "true"); first = first || $(field); }
    }
    if (first) first.focus();
  }

  // verifyErrors turns the bucket-verify API's "field: message" text into
  // the page's fields.
  function verifyErrors(text) {
    const map = VERIFY_FIELDS[provider()];
    const names = ["storageProvider", "accessKey", "secretKey", "bucketId", "bucket", "endpoint", "region", "prefix"];
    const re = new RegExp("(?:^|\\s)(" + names.join("|") + "): ", "g");
    const out = {};
    let m, last = null, lastEnd = 0;
    const head = [];
    while ((m = re.exec(text)) !== null) {
      if (last === null) head.push(text.slice(0, m.index));
      else (out[map[last] || "non_field_errors"] = out[map[last] || "non_field_errors"] || []).push(text.slice(lastEnd, m.index).trim());
      last = m[1]; lastEnd = re.lastIndex;
    }
    if (last === null) return { non_field_errors: [text] };
    (out[map[last] || "non_field_errors"] = out[map[last] || "non_field_errors"] || []).push(text.slice(lastEnd).trim());
    if (head.join("").trim()) (out.non_field_errors = out.non_field_errors || []).push(head.join("").trim());
    return out;
  }

  // --- step 3: checks --------------------------------------------------
  function resetChecks() {
    verified = false; signedUrl = ""; corsReport = null;
    $("checks").textContent = "";
    setStatus("checks-status", "");
    $("run-cors").disabled = true;
    setStatus("cors-status", "");
    renderServerCors();
    $("cors-fix").hidden = true;
    const supported = verifyBody() !== null;
    $("run-checks").disabled = !supported;
    $("checks-hint").textContent = supported
      ? "Runs every check against your bucket, from our side."
      : "This authentication method is checked when you save.";
  }

  function verifyBody() {
    const p = provider(), a = auth();
    const ok = (p === "aws_s3" || p === "s3_compatible") ? a === "access_key" : p === "gc_storage" ? a === "hmac" : a === "account_key";
    if (!ok) return null;
    const map = VERIFY_FIELDS[p];
    const body = { storageProvider: VERIFY_PROVIDER[p] };
    for (const [k, field] of Object.entries(map)) if (val(field)) body[k] = val(field);
    return body;
  }

  function renderChecks(list, running) {
    const ul = $("checks");
    ul.textContent = "";
    for (const c of list) {
      const li = document.createElement("li");
      const state = running ? "running" : c.ok ? "passed" : c.code === "skipped" ? "skipped" : "failed";
      li.className = state;
      li.dataset.check = c.name;
      const st = document.createElement("span"); st.className = "state";
      st.textContent = { running: "Running…", passed: "Passed", skipped: "Skipped", failed: "Failed" }[state];
      const name = document.createElement("span"); name.className = "name"; name.textContent = c.name;
      li.append(st, name);
      if (!running && c.message) { const msg = document.createElement("span"); msg.className = "msg"; msg.textContent = c.message; li.append(msg); }
      ul.appendChild(li);
    }
  }

  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

  async function runChecks() {
    clearErrors();
    const body = verifyBody();
    if (!body) return;
    const path = "/v1/api/organizations/" + setup.connect_session.organization_id + "/buckets/verify";
    $("run-checks").disabled = true;
    setStatus("checks-status", "Checking…");
    renderChecks(EXPECTED_CHECKS.map((name) => ({ name })), true);
    try {
      for (let i = 0; i < 120; i++) {
        const { status, data } = await api("POST", path, body);
        if (status === 401 || status === 403) { sessionFailed(data.error || data.detail); return; }
        if (!data.success) {
          renderChecks([], false);
          showErrors(verifyErrors(data.error || "The checks could not run."));
          setStatus("checks-status", "Fix the fields marked above and run the checks again.", "bad");
          return;
        }
        if (data.connectionStatus === "connecting") { await sleep(500); continue; }
        renderChecks(data.checks || [], false);
        if (data.connectionStatus === "connected") {
          verified = true; signedUrl = data.signedUrl || "";
          corsReport = data.cors || null;
          renderServerCors();
          setStatus("checks-status", "Every check passed.", "good");
          $("run-cors").disabled = !signedUrl;
          if (!signedUrl) setStatus("cors-status", data.signedUrlUnavailable || "No upload URL for this credential.");
          return;
        }
        showErrors(verifyErrors(data.connectionError || "verification failed"));
        setStatus("checks-status", "The checks failed: fix the fields marked above and run them again.", "bad");
        return;
      }
      setStatus("checks-status", "The checks are taking too long; try again.", "bad");
    } catch (e) {
      setStatus("checks-status", "Could not reach the service: " + e.message, "bad");
    } finally {
      $("run-checks").disabled = false;
    }
  }

  // --- step 4: CORS, from the app origins and from this page -----------
  // renderServerCors shows what the service's CORS check (the preflights
  // of the app origins, in the bucket verify) found, and its fix when an
  // origin is refused.
  function renderServerCors() {
    const box = $("cors-server"), list = $("cors-origins");
    list.textContent = "";
    box.hidden = !corsReport;
    if (!corsReport) return;
    for (const o of corsReport.origins || []) {
      const li = document.createElement("li");
      li.className = o.code ? "failed" : "passed";
      li.dataset.origin = o.origin;
      const st = document.createElement("span"); st.className = "state"; st.textContent = o.code ? "Refused" : "Allowed";
      const name = document.createElement("span"); name.className = "name"; name.textContent = o.origin;
      li.append(st, name);
      if (o.code) { const msg = document.createElement("span"); msg.className = "msg"; msg.textContent = o.message; li.append(msg); }
      list.appendChild(li);
    }
    if (corsReport.code) {
      const origins = corsReport.origins || [], refused = origins.filter((o) => o.code).length;
      setStatus("cors-server-status", "Browsers at " + (origins.length === 1 ? "the app origin" : refused + " of the " + origins.length + " app origins") +
        " may not use this bucket" + (corsReport.fix ? ": apply the CORS configuration below." : "."), "bad");
      if (corsReport.fix) showFix(corsReport.fix);
    } else {
      setStatus("cors-server-status", "Browsers at the app origins may upload to and read from this bucket.", "good");
    }
  }

  // showFix shows a CORS fix in the provider's terms: the document to set
  // (S3, GCS) and the command that applies it.
  function showFix(fix) {
    let doc = fix.document || "";
    try { doc = JSON.stringify(JSON.parse(doc), null, 2); } catch (e) { /* shown as given */ }
    $("cors-doc").textContent = doc;
    $("cors-doc-wrap").hidden = !fix.document;
    $("cors-cmd").textContent = fix.command || "";
    $("cors-cmd-wrap").hidden = !fix.command;
    $("cors-fix-note").textContent = fix.note || "";
    $("cors-fix").hidden = false;
  }

  // localFix is the fix for this page's origin when the service's check
  // did not cover it (no app origins, or not this one): the rule alone,
  // not merged with the bucket's rules, which this page cannot read.
  const NOT_MERGED = "Save the document as cors.json. It replaces the bucket's CORS rules, which this page cannot read: add any you keep to it first.";
  function localFix() {
    const origin = window.location.origin, p = provider(), b = val(BUCKET_FIELD[p]) || "BUCKET";
    if (p === "azure_blob") {
      return { merged: false, command: "az storage cors add --services b --methods GET HEAD PUT OPTIONS --origins " + origin +
        " --allowed-headers '*' --exposed-headers ETag --max-age 3600 --account-name " + (val("azure_account_name") || "ACCOUNT_NAME"),
        note: "Azure keeps CORS rules per storage account (at most 5); this adds one for this page's origin." };
    }
    if (p === "gc_storage") {
      return { merged: false, document: JSON.stringify([{ origin: [origin], method: ["GET", "HEAD", "PUT"], responseHeader: ["Content-Type", "ETag"], maxAgeSeconds: 3600 }], null, 2),
        command: "gcloud storage buckets update gs://" + b + " --cors-file=cors.json", note: NOT_MERGED };
    }
    const endpoint = p === "s3_compatible" && val("s3_endpoint_url") ? " --endpoint-url " + val("s3_endpoint_url") : "";
    return { merged: false, document: JSON.stringify({ CORSRules: [{ AllowedOrigins: [origin], AllowedMethods: ["GET", "HEAD", "PUT"], AllowedHeaders: ["*"], ExposeHeaders: ["ETag"], MaxAgeSeconds: 3600 }] }, null, 2),
      command: "aws s3api put-bucket-cors --bucket " + b + endpoint + " --cors-configuration file://cors.json", note: NOT_MERGED };
  }

  // fixForPage is the fix that lets this page's origin through: the
  // service's, merged with the bucket's rules, when its check refused this
  // origin too; else the rule for this origin alone.
  function fixForPage() {
    const origin = window.location.origin;
    if (corsReport && corsReport.fix && (corsReport.origins || []).some((o) => o.origin === origin && o.code)) return corsReport.fix;
    return localFix();
  }

  async function runCors() {
    if (!signedUrl) return;
    $("run-cors").disabled = true;
    if (!corsReport || !corsReport.code) $("cors-fix").hidden = true;
    setStatus("cors-status", "Uploading from " + window.location.origin + "…");
    const headers = { "Content-Type": "text/plain" };
    if (provider() === "azure_blob") headers["x-ms-blob-type"] = "BlockBlob";
    try {
      const resp = await fetch(signedUrl, { method: "PUT", headers, body: "bucketlink browser upload test\n", credentials: "omit", mode: "cors", referrerPolicy: "no-referrer" });
      if (resp.ok) {
        setStatus("cors-status", "The browser was allowed to upload (HTTP " + resp.status + ").", "good");
      } else {
        setStatus("cors-status", "The browser was allowed to send the upload, but the bucket answered HTTP " + resp.status + ".", "bad");
      }
    } catch (e) {
      // A CORS refusal is a TypeError with no detail, by design.
      setStatus("cors-status", "The browser refused the upload: the bucket's CORS rules do not allow " + window.location.origin + ".", "bad");
      showFix(fixForPage());
    } finally {
      $("run-cors").disabled = false;
    }
  }

  // --- step 5: save ----------------------------------------------------
  // createBody is the create request of the form; for a rotation, the
  // PATCH of the config: its new credentials with the settings shown
  // (which it may change, checked together), without the name.
  function createBody() {
    const p = provider(), a = auth();
    const body = rotating ? {} : { name: val("name"), provider: p };
    const spec = FIELDS[p];
    for (const f of [...spec.common, ...(spec[a] || [])]) if (val(f.id)) body[f.id] = $(f.id).value.trim();
    if (p === "aws_s3") body.s3_auth_method = a;
    if (p === "gc_storage") body.gc_storage_auth_method = a;
    if (p === "azure_blob" && (a === "service_principal" || a === "workload_identity")) body.azure_auth_method = a;
    if (!rotating || accessMode() !== (rotating.access_mode || "read_write")) body.access_mode = accessMode();
    return body;
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    $("save").disabled = true;
    setStatus("save-status", "Checking and saving…");
    try {
      const { status, data } = rotating
        ? await api("PATCH", API + rotating.uid + "/", createBody())
        : await api("POST", API, createBody());
      if (status === 201 || (rotating && status === 200)) {
        setStatus("save-status", "Saved: " + data.name + " (" + data.uid + ").", "good");
        banner(rotating ? "The new credentials are saved; the old ones are no longer used. You can close this page."
          : "Your bucket is connected. You can close this page.", true);
        $("connect").querySelectorAll("input, select, textarea, button").forEach((el) => { el.disabled = true; });
        return;
      }
      if (status === 401 || status === 403) { sessionFailed(data.detail); return; }
      if (status === 400) { showErrors(data); setStatus("save-status", "Fix the fields marked above.", "bad"); return; }
      if (status === 409) { setStatus("save-status", data.detail || "The connection was changed meanwhile; reload the page.", "bad"); return; }
      setStatus("save-status", data.detail || "The connection could not be saved (HTTP " + status + ").", "bad");
    } catch (e) {
      setStatus("save-status", "Could not reach the service: " + e.message, "bad");
    } finally {
      if (!$("banner").classList.contains("ok")) $("save").disabled = false;
    }
  }

  function sessionFailed(detail) {
    banner((detail || "This connect session cannot be used.") + " Ask the application that sent you here for a new link.");
    $("banner").focus();
  }

  async function copy(ev) {
    const b = ev.target.closest("button.copy");
    if (!b) return;
    const text = $(b.dataset.copy).textContent;
    try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; }
    catch (e) { const r = document.createRange(); r.selectNodeContents($(b.dataset.copy)); getSelection().removeAllRanges(); getSelection().addRange(r); b.textContent = "Selected: press Ctrl+C"; }
  }

  async function start() {
    $("banner").tabIndex = -1;
    const m = /(?:^#|&)session=([^&]+)/.exec(window.location.hash);
    if (m) {
      token = decodeURIComponent(m[1]);
      sessionStorage.setItem("bucketlink-connect-session", token);
      // Out of the address bar, the history and anything copied from them.
      history.replaceState(null, "", window.location.pathname);
    } else {
      token = sessionStorage.getItem("bucketlink-connect-session") || "";
    }
    if (!token) { banner("This page needs a connect session: open the link the application gave you."); return; }
    const { status, data } = await api("GET", API + "setup-info/");
    if (status !== 200 || !data.connect_session) { sessionFailed(data.detail); return; }
    setup = data;
    if (setup.connect_session.purpose === "rotate") {
      const got = await api("GET", API + setup.connect_session.config_uid + "/");
      if (got.status !== 200) { sessionFailed(got.data.detail); return; }
      rotating = got.data;
    }
    $("connect").hidden = false;
    $("provider").addEventListener("change", fillAuth);
    $("auth").addEventListener("change", onAuthChange);
    $("access_mode").addEventListener("change", () => { renderGuidance(); resetChecks(); });
    $("fields").addEventListener("input", (ev) => {
      if (ev.target.id === BUCKET_FIELD[provider()] || ev.target.id === PREFIX_FIELD[provider()]) scheduleGuidance();
    });
    $("run-checks").addEventListener("click", runChecks);
    $("run-cors").addEventListener("click", runCors);
    $("connect").addEventListener("submit", save);
    document.addEventListener("click", copy);
    fillAuth();
    if (rotating) showRotation();
    $("provider").focus();
  }

  // showRotation fills the form with the config being rotated: its
  // provider (fixed), auth method and settings; the credentials are left
  // empty for the new ones.
  function showRotation() {
    const c = rotating;
    document.querySelector("h1").textContent = "New credentials for " + c.name;
    document.title = "New credentials for your bucket";
    $("save").textContent = "Save the new credentials";
    $("provider").value = c.provider;
    $("provider").disabled = true;
    fillAuth();
    const method = c.s3_auth_method || c.gc_storage_auth_method || c.azure_auth_method;
    if (method && [...$("auth").options].some((o) => o.value === method)) { $("auth").value = method; onAuthChange(); }
    if (c.access_mode) $("access_mode").value = c.access_mode;
    $("name").value = c.name;
    $("name").readOnly = true;
    // The method's own settings too (a role ARN, a service principal's
    // tenant and client ids), never its secrets (which GET never returns).
    for (const f of [...FIELDS[c.provider].common, ...(FIELDS[c.provider][auth()] || [])].filter((f) => !f.secret)) {
      if ($(f.id) && c[f.id] !== null && c[f.id] !== undefined) $(f.id).value = String(c[f.id]);
    }
    renderGuidance();
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((e) => banner("Could not reach the service: " + e.message));
  });
})();
