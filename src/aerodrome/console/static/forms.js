"use strict";
// Create and update forms. The create form shows the `aws mwaa create-environment` command that
// makes the same request, as it is typed.
const CLASSES = ["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"];
const LOG_KINDS = ["DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs"];

function field(label, input) { return h("label", {}, label, input); }
function text(name, value, extra) { return h("input", {name, id: `f-${name}`, value: value ?? "", ...(extra || {})}); }
function choice(name, values, value) {
  return h("select", {name, id: `f-${name}`}, values.map((v) => h("option", {value: v, selected: v === value}, v || "(default)")));
}
function options(textValue) {
  const out = {};
  for (const line of textValue.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}
function shellQuote(value) { return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`; }

function createRequest(form) {
  const v = (name) => form.elements[name].value.trim();
  const request = {Name: v("Name"), SourceBucketArn: v("SourceBucketArn"), DagS3Path: v("DagS3Path"),
                   ExecutionRoleArn: v("ExecutionRoleArn"),
                   NetworkConfiguration: {SubnetIds: v("SubnetIds").split(",").map((s) => s.trim()).filter(Boolean),
                                          SecurityGroupIds: v("SecurityGroupIds").split(",").map((s) => s.trim()).filter(Boolean)},
                   EnvironmentClass: v("EnvironmentClass"), MinWorkers: Number(v("MinWorkers")), MaxWorkers: Number(v("MaxWorkers")),
                   WebserverAccessMode: v("WebserverAccessMode")};
  for (const name of ["AirflowVersion", "RequirementsS3Path", "PluginsS3Path", "StartupScriptS3Path"]) if (v(name)) request[name] = v(name);
  const level = v("LogLevel");
  if (level !== "off") request.LoggingConfiguration = Object.fromEntries(LOG_KINDS.map((k) => [k, {Enabled: true, LogLevel: level}]));
  const configuration = options(form.elements.AirflowConfigurationOptions.value);
  if (Object.keys(configuration).length) request.AirflowConfigurationOptions = configuration;
  return request;
}

function cliCommand(request) {
  const flag = (name) => name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/S3/g, "-s3").replace(/--/g, "-").toLowerCase();
  const parts = ["aws mwaa create-environment"];
  for (const [key, value] of Object.entries(request)) {
    const shown = typeof value === "object" ? JSON.stringify(value) : String(value);
    parts.push(`--${flag(key)} ${shellQuote(shown)}`);
  }
  return parts.join(" \\\n    ");
}

route(/^\/create$/, async (main) => {
  const command = h("pre", {id: "cli-command", "aria-label": "The equivalent AWS CLI command"});
  const form = h("form", {class: "fields", id: "create-form"},
    field("Name", text("Name", "", {required: true, pattern: "[a-zA-Z][0-9a-zA-Z_-]*", maxlength: 80})),
    field("Source bucket ARN", text("SourceBucketArn", "arn:aws:s3:::", {required: true})),
    field("DAG folder in the bucket", text("DagS3Path", "dags", {required: true})),
    field("Execution role ARN", text("ExecutionRoleArn", "arn:aws:iam::000000000000:role/airflow", {required: true})),
    field("Airflow version", text("AirflowVersion", "", {placeholder: "newest"})),
    field("Environment class", choice("EnvironmentClass", CLASSES, "mw1.small")),
    field("Minimum workers", text("MinWorkers", "1", {type: "number", min: 1, max: 25})),
    field("Maximum workers", text("MaxWorkers", "2", {type: "number", min: 1, max: 25})),
    field("Web server access", choice("WebserverAccessMode", ["PRIVATE_ONLY", "PUBLIC_ONLY"], "PRIVATE_ONLY")),
    field("Log level (CloudWatch Logs)", choice("LogLevel", ["INFO", "WARNING", "ERROR", "CRITICAL", "DEBUG", "off"], "INFO")),
    field("Subnet ids", text("SubnetIds", "subnet-a,subnet-b")),
    field("Security group ids", text("SecurityGroupIds", "sg-a")),
    field("requirements.txt in the bucket", text("RequirementsS3Path", "")),
    field("plugins.zip in the bucket", text("PluginsS3Path", "")),
    field("Startup script in the bucket", text("StartupScriptS3Path", "")),
    field("Airflow configuration (one key=value a line)", h("textarea", {name: "AirflowConfigurationOptions", id: "f-AirflowConfigurationOptions", rows: 3})),
    h("div", {class: "row"}, h("button", {class: "primary", type: "submit", id: "create"}, "Create environment")));
  const show = () => { command.textContent = cliCommand(createRequest(form)); };
  form.addEventListener("input", show);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const request = createRequest(form);
    try {
      await call("mwaa", "CreateEnvironment", request);
      notice(`Creating ${request.Name}.`);
      location.hash = `#/env/${encodeURIComponent(request.Name)}`;
    } catch (error) { failed(error); }
  });
  main.replaceChildren(h("h1", {}, "Create an environment"), h("section", {class: "panel"}, form),
                       h("section", {class: "panel"}, h("h2", {}, "The same request from the AWS CLI"), command));
  show();
  form.elements.Name.focus();
});

route(/^\/env\/([^/]+)\/update$/, async (main, name) => {
  const e = (await call("mwaa", "GetEnvironment", {Name: name})).Environment;
  const configuration = Object.entries(e.AirflowConfigurationOptions || {}).map(([k, v]) => `${k}=${v}`).join("\n");
  const form = h("form", {class: "fields", id: "update-form"},
    field("Environment class", choice("EnvironmentClass", CLASSES, e.EnvironmentClass)),
    field("Minimum workers", text("MinWorkers", e.MinWorkers, {type: "number", min: 1, max: 25})),
    field("Maximum workers", text("MaxWorkers", e.MaxWorkers, {type: "number", min: 1, max: 25})),
    field("Airflow version", text("AirflowVersion", e.AirflowVersion)),
    field("Airflow configuration (one key=value a line)", h("textarea", {name: "AirflowConfigurationOptions", rows: 4}, configuration)),
    h("div", {class: "row"}, h("button", {class: "primary", type: "submit", id: "update"}, "Update environment")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = (n) => form.elements[n].value.trim();
    const request = {Name: name, EnvironmentClass: v("EnvironmentClass"), MinWorkers: Number(v("MinWorkers")),
                     MaxWorkers: Number(v("MaxWorkers")), AirflowConfigurationOptions: options(form.elements.AirflowConfigurationOptions.value)};
    if (v("AirflowVersion") && v("AirflowVersion") !== e.AirflowVersion) request.AirflowVersion = v("AirflowVersion");
    if (!(await confirmAction(`Update ${name}?`, "Changed components restart one at a time; workers drain first.", "Update"))) return;
    try {
      await call("mwaa", "UpdateEnvironment", request);
      notice(`Updating ${name}.`);
      location.hash = `#/env/${encodeURIComponent(name)}`;
    } catch (error) { failed(error); }
  });
  main.replaceChildren(h("h1", {}, h("a", {href: `#/env/${encodeURIComponent(name)}`}, name), "Update"), h("section", {class: "panel"}, form));
});
