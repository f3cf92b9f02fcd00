//! Sending plans to the server: server-side dry run first, then the real write.
//!
//! A patch is guarded by what the fix read, not by the object's version alone: it is sent
//! pinned to a `resourceVersion` whose content the tool has checked (the version the plan
//! was built from, or, after a race, the version it read again and compared). A controller's
//! status write or a scale between reading and writing therefore costs one more read, while
//! a change to what the fix read or wrote fails loudly and writes nothing.

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions};
use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::describe_error;
use super::resources::api_resource;
use secfix_core::fix::{Action, NewObject, Plan, Target};
use secfix_core::model::{FIELD_MANAGER, REDACTED};

/// An object a plan created, with how `rollback` treats it.
#[derive(Debug, Clone)]
pub struct Created {
    pub target: Target,
    pub uid: String,
    /// Kept on rollback because the restored spec still references it (the Secret that
    /// literals moved into: rollback restores a `secretKeyRef` to it, never the literal).
    pub keep_on_rollback: bool,
}

/// What a successful write left behind.
#[derive(Clone, Default)]
pub struct Outcome {
    /// The patched object as the server returned it (the inverse patch's guards are taken
    /// from it). May hold secret values: never print or save it (`Debug` leaves it out).
    pub after: Option<Value>,
    pub created: Vec<Created>,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("after", &self.after.as_ref().map(|_| "<object, not shown>"))
            .field("created", &self.created)
            .finish()
    }
}

/// How many times a guarded write re-reads an object that changed only outside what the
/// fix read (a controller writing status) before it gives up.
const MAX_RACES: usize = 8;

/// Why a plan was not applied. The message never holds a secret value.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{target}: {stage} failed: {message}")]
pub struct ApplyError {
    pub target: Box<Target>,
    pub stage: &'static str,
    pub message: String,
    pub code: Option<u16>,
}

impl ApplyError {
    pub fn is_conflict(&self) -> bool {
        self.code == Some(409)
    }
}

fn api_for(client: &Client, target: &Target) -> Result<Api<DynamicObject>, ApplyError> {
    let ar = api_resource(&target.api_version, &target.kind).ok_or_else(|| ApplyError {
        target: Box::new(target.clone()),
        stage: "planning",
        message: format!("unsupported kind {} {}", target.api_version, target.kind),
        code: None,
    })?;
    Ok(Api::namespaced_with(client.clone(), &target.namespace, &ar))
}

/// Replaces every secret value the plan carries with `<redacted>` in a server message
/// (defence in depth: servers may echo submitted values in validation errors).
fn scrub(plan: &Plan, message: String) -> String {
    let mut out = message;
    for p in plan.prerequisites.iter().filter(|p| p.sensitive) {
        for field in ["stringData", "data"] {
            if let Some(Value::Object(map)) = p.object.get(field) {
                for v in map
                    .values()
                    .filter_map(Value::as_str)
                    .filter(|v| !v.is_empty())
                {
                    out = out.replace(v, REDACTED);
                }
            }
        }
    }
    // Every value the plan's objects hold that may be secret (issue #22), as a last net
    // behind the reduction of the message to reason and field paths.
    secfix_core::fix::redact::Redactor::for_plan(plan)
        .text(&out)
        .into_owned()
}

/// How a guarded write that lost a race is reported.
const CHANGED: &str = "the object changed since it was read, nothing was written (re-run to plan against the current object)";

fn fail(plan: &Plan, target: &Target, stage: &'static str, e: &kube::Error) -> ApplyError {
    let mut message = describe_error(e);
    let code = super::status_code(e);
    if message.contains("/metadata/resourceVersion") || code == Some(409) {
        message = format!("{CHANGED}: {message}");
    }
    ApplyError {
        target: Box::new(target.clone()),
        stage,
        message: scrub(plan, message),
        code,
    }
}

fn post_params(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.to_string()),
    }
}

fn patch_params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    }
}

/// Sends `patch` to the object `name` of `api` and returns the object the server answers
/// with, as plain JSON without `metadata.managedFields`.
///
/// Read as JSON rather than as a `DynamicObject`: typed metadata with flattened data, turned
/// back into JSON for the inverse patch, cost about a fifth of `fix`'s CPU per object at
/// fleet scale (issue 26), and nothing reads the managed fields (field paths, no values).
async fn send_patch(
    client: &Client,
    api: &Api<DynamicObject>,
    name: &str,
    params: &PatchParams,
    patch: &json_patch::Patch,
) -> kube::Result<Value> {
    let mut req = kube::core::Request::new(api.resource_url())
        .patch(name, params, &Patch::Json::<()>(patch.clone()))
        .map_err(kube::Error::BuildRequest)?;
    req.extensions_mut().insert("patch");
    let text = client.request_text(req).await?;
    let object = WithoutManagedFields { metadata: false }
        .deserialize(&mut serde_json::Deserializer::from_str(&text))
        .map_err(kube::Error::SerdeError)?;
    Ok(Value::Object(object))
}

/// Reads an object as JSON without `metadata.managedFields` (passed over, never built).
/// `metadata`: the map being read is the object's `metadata`.
#[derive(Clone, Copy)]
struct WithoutManagedFields {
    metadata: bool,
}

impl<'de> DeserializeSeed<'de> for WithoutManagedFields {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for WithoutManagedFields {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.metadata && key == "managedFields" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value = if !self.metadata && key == "metadata" {
                Value::Object(map.next_value_seed(WithoutManagedFields { metadata: true })?)
            } else {
                map.next_value()?
            };
            out.insert(key, value);
        }
        Ok(out)
    }
}

/// The `metadata.resourceVersion` of an object the server returned.
fn resource_version(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
}

async fn create(
    plan: &Plan,
    client: &Client,
    new: &Target,
    object: &Value,
    dry_run: bool,
    stage: &'static str,
) -> Result<DynamicObject, ApplyError> {
    let api = api_for(client, new)?;
    let obj: DynamicObject = serde_json::from_value(object.clone()).map_err(|e| ApplyError {
        target: Box::new(new.clone()),
        stage,
        message: format!(
            "invalid object: {}",
            secfix_core::model::workload::without_values(&e)
        ),
        code: None,
    })?;
    api.create(&post_params(dry_run), &obj)
        .await
        .map_err(|e| fail(plan, new, stage, &e))
}

/// Sends the plan once: every prerequisite create, then the main action. With `dry_run`
/// the server validates everything (`dryRun=All`) and nothing is stored.
///
/// If a real write of the main action fails after prerequisites were created, those are
/// deleted again so nothing is left half-applied.
pub async fn send(client: &Client, plan: &Plan, dry_run: bool) -> Result<Outcome, ApplyError> {
    send_recording(client, plan, dry_run, &mut |_| {}).await
}

/// [`send`], calling `on_created` as soon as each object is created (before the next write),
/// so the journal can record its uid.
pub async fn send_recording(
    client: &Client,
    plan: &Plan,
    dry_run: bool,
    on_created: &mut (dyn FnMut(&Created) + Send),
) -> Result<Outcome, ApplyError> {
    let stage = if dry_run { "server dry run" } else { "apply" };
    let mut outcome = Outcome::default();
    for NewObject {
        target,
        object,
        keep_on_rollback,
        ..
    } in &plan.prerequisites
    {
        let created = create(plan, client, target, object, dry_run, stage).await;
        let created = match created.and_then(|o| uid_of(o, target, dry_run, stage)) {
            Ok(uid) => uid,
            Err(e) => return Err(clean_up(client, &outcome, dry_run, e).await),
        };
        let created = Created {
            target: target.clone(),
            uid: created,
            keep_on_rollback: *keep_on_rollback,
        };
        if !dry_run {
            on_created(&created);
        }
        outcome.created.push(created);
    }
    let result = match &plan.action {
        Action::Patch { .. } => patch_plan(client, plan, dry_run, stage)
            .await
            .map(|obj| outcome.after = Some(obj)),
        Action::Create => create(plan, client, &plan.target, &plan.after, dry_run, stage)
            .await
            .and_then(|obj| uid_of(obj, &plan.target, dry_run, stage))
            .map(|uid| {
                outcome.created.push(Created {
                    target: plan.target.clone(),
                    uid,
                    keep_on_rollback: false,
                })
            }),
    };
    match result {
        Ok(()) => Ok(outcome),
        Err(e) => Err(clean_up(client, &outcome, dry_run, e).await),
    }
}

/// The uid of an object the server created. A real create without one is an error: rollback
/// deletes only by uid. A dry run's object may lack it.
fn uid_of(
    obj: DynamicObject,
    target: &Target,
    dry_run: bool,
    stage: &'static str,
) -> Result<String, ApplyError> {
    match obj.metadata.uid {
        Some(uid) => Ok(uid),
        None if dry_run => Ok(String::new()),
        None => Err(ApplyError {
            target: Box::new(target.clone()),
            stage,
            message: format!(
                "the server created it without a uid, so it cannot be rolled back safely; \
                 delete it with `kubectl delete {} -n {} {}` if it is not wanted",
                target.kind.to_lowercase(),
                target.namespace,
                target.name
            ),
            code: None,
        }),
    }
}

/// After a failed real write, deletes what the plan created so far (nothing is left
/// half-applied). A delete that fails is added to the error, with what is left behind and the
/// command that removes it.
async fn clean_up(
    client: &Client,
    outcome: &Outcome,
    dry_run: bool,
    mut err: ApplyError,
) -> ApplyError {
    if dry_run {
        return err;
    }
    // Newest first: a policy set's default deny never outlives its allow policies.
    for c in outcome.created.iter().rev() {
        if let Err(why) = delete_by_uid(client, &c.target, &c.uid).await {
            let t = &c.target;
            err.message.push_str(&format!(
                "; cleanup failed: {t} was created and could not be deleted ({why}); \
                 remove it with `kubectl delete {} -n {} {}`",
                t.kind.to_lowercase(),
                t.namespace,
                t.name
            ));
        }
    }
    err
}

/// Sends the plan's patch: first pinned to the version the plan was built from; when the
/// object moved on since, it is read again and, if what the plan read is unchanged (only
/// status, scale, labels, annotations… changed), sent pinned to the new version. A change
/// to what the plan read fails with [`CHANGED`] and the path that changed, nothing written.
async fn patch_plan(
    client: &Client,
    plan: &Plan,
    dry_run: bool,
    stage: &'static str,
) -> Result<Value, ApplyError> {
    if let Some(patch) = plan.self_guarded_patch() {
        let api = api_for(client, &plan.target)?;
        return match send_patch(
            client,
            &api,
            &plan.target.name,
            &patch_params(dry_run),
            &patch,
        )
        .await
        {
            Ok(obj) => Ok(obj),
            Err(e) => Err(guard_failure(&api, plan, stage, &e).await),
        };
    }
    // Never an unguarded write: a concurrent change must fail, not be clobbered.
    let (Some(mut patch), Action::Patch { ops, .. }) = (plan.guarded_patch(), &plan.action) else {
        return Err(ApplyError {
            target: Box::new(plan.target.clone()),
            stage: "planning",
            message: "the object has no resourceVersion to guard the patch with; nothing was sent"
                .to_string(),
            code: None,
        });
    };
    let api = api_for(client, &plan.target)?;
    let params = patch_params(dry_run);
    for _ in 0..MAX_RACES {
        let e = match send_patch(client, &api, &plan.target.name, &params, &patch).await {
            Ok(obj) => return Ok(obj),
            Err(e) => e,
        };
        let now = match raced(&api, &plan.target.name, &patch, &e).await {
            Some(now) => now,
            None => return Err(fail(plan, &plan.target, stage, &e)),
        };
        let now_json = serde_json::to_value(&now).unwrap_or_default();
        if let Some(path) = plan.changed_since_read(&now_json) {
            return Err(changed(plan, stage, &path));
        }
        let rv = now.metadata.resource_version.unwrap_or_default();
        patch = secfix_core::fix::patch::pinned(&rv, ops);
    }
    Err(keeps_changing(&plan.target, stage))
}

/// Why a self-guarded patch failed: when the server says it cannot apply it (422) and the
/// pod spec is no longer what the plan read, [`CHANGED`] with the path; else the server's
/// reason.
async fn guard_failure(
    api: &Api<DynamicObject>,
    plan: &Plan,
    stage: &'static str,
    e: &kube::Error,
) -> ApplyError {
    if super::status_code(e) == Some(422)
        && let Ok(now) = api.get(&plan.target.name).await
        && let Some(path) = plan.changed_since_read(&serde_json::to_value(&now).unwrap_or_default())
    {
        return changed(plan, stage, &path);
    }
    fail(plan, &plan.target, stage, e)
}

/// After a failed pinned patch: the object as it is now, when the failure was the version
/// pin (the object moved on); `None` when the server rejected the patch for another reason.
async fn raced(
    api: &Api<DynamicObject>,
    name: &str,
    sent: &json_patch::Patch,
    e: &kube::Error,
) -> Option<DynamicObject> {
    if !matches!(super::status_code(e), Some(409) | Some(422)) {
        return None;
    }
    let pinned = sent.0.first().and_then(|op| match op {
        json_patch::PatchOperation::Test(t) if t.path.as_str() == "/metadata/resourceVersion" => {
            t.value.as_str()
        }
        _ => None,
    })?;
    let now = api.get(name).await.ok()?;
    (now.metadata.resource_version.as_deref() != Some(pinned)).then_some(now)
}

fn changed(plan: &Plan, stage: &'static str, path: &str) -> ApplyError {
    ApplyError {
        target: Box::new(plan.target.clone()),
        stage,
        message: format!(
            "{CHANGED}: {} changed",
            secfix_core::model::text::printable(path)
        ),
        code: Some(409),
    }
}

fn keeps_changing(target: &Target, stage: &'static str) -> ApplyError {
    ApplyError {
        target: Box::new(target.clone()),
        stage,
        message: format!(
            "the object changed {MAX_RACES} times while it was being written (a controller \
             updating it?); nothing was written, re-run later"
        ),
        code: Some(409),
    }
}

/// Validates with a server-side dry run, then applies for real.
pub async fn dry_run_then_apply(client: &Client, plan: &Plan) -> Result<Outcome, ApplyError> {
    send(client, plan, true).await?;
    send(client, plan, false).await
}

/// The object `target` names as the server has it now; `None` when there is none.
pub async fn get(client: &Client, target: &Target) -> Result<Option<Value>, String> {
    let api = api_for(client, target).map_err(|e| e.message)?;
    match api.get_opt(&target.name).await {
        Ok(Some(obj)) => serde_json::to_value(&obj)
            .map(Some)
            .map_err(|e| e.to_string()),
        Ok(None) => Ok(None),
        Err(e) => Err(describe_error(&e)),
    }
}

/// Deletes an object only if it is still the one with `uid`.
pub async fn delete_by_uid(client: &Client, target: &Target, uid: &str) -> Result<(), String> {
    let api = api_for(client, target).map_err(|e| e.message)?;
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    api.delete(&target.name, &params)
        .await
        .map(|_| ())
        .map_err(|e| describe_error(&e))
}

/// Applies a saved patch (`test` ops guarding what it changes, then the ops) to `target`,
/// after a server dry run. The `test` ops are checked here against the object as it is now,
/// and the rest is sent pinned to that object's `resourceVersion`; when the object moves on
/// between the two (a controller's status write), it is read and checked again.
///
/// A record of an older version starts with a `resourceVersion` test: it is checked the same
/// way, so such a record rolls back only while nothing wrote the object since.
pub async fn patch_guarded(
    client: &Client,
    target: &Target,
    patch: &json_patch::Patch,
    dry_run: bool,
) -> Result<Option<String>, String> {
    const CHANGED_SINCE_FIX: &str = "changed since the fix, not rolled back (nothing was written)";
    let api = api_for(client, target).map_err(|e| e.message)?;
    // Guarded by content only (every record since content guards): sent as it is, the server
    // checks its tests atomically with the write (a status write in between costs nothing).
    let pinned_record = patch.0.iter().any(|op| {
        matches!(op, json_patch::PatchOperation::Test(t) if t.path.as_str() == "/metadata/resourceVersion")
    });
    if !pinned_record {
        for dry in [true, false] {
            if !dry && dry_run {
                break;
            }
            match send_patch(client, &api, &target.name, &patch_params(dry), patch).await {
                Ok(obj) if !dry => return Ok(resource_version(&obj)),
                Ok(_) => {}
                Err(e) => {
                    if super::status_code(&e) == Some(422)
                        && let Ok(now) = api.get(&target.name).await
                        && let Some(path) = secfix_core::fix::patch::failed_test(
                            &serde_json::to_value(&now).unwrap_or_default(),
                            &patch.0,
                        )
                    {
                        return Err(format!(
                            "{CHANGED_SINCE_FIX}: {} differs from what the fix wrote",
                            secfix_core::model::text::printable(&path)
                        ));
                    }
                    return Err(describe_error(&e));
                }
            }
        }
        return Ok(None);
    }
    'read: for _ in 0..MAX_RACES {
        let now = api
            .get(&target.name)
            .await
            .map_err(|e| describe_error(&e))?;
        let now_json = serde_json::to_value(&now).map_err(|e| e.to_string())?;
        if let Some(path) = secfix_core::fix::patch::failed_test(&now_json, &patch.0) {
            return Err(format!(
                "{CHANGED_SINCE_FIX}: {} differs from what the fix wrote",
                secfix_core::model::text::printable(&path)
            ));
        }
        let rv = now.metadata.resource_version.unwrap_or_default();
        let pinned = secfix_core::fix::patch::pinned(&rv, &patch.0);
        for dry in [true, false] {
            if !dry && dry_run {
                break;
            }
            let params = patch_params(dry);
            match send_patch(client, &api, &target.name, &params, &pinned).await {
                Ok(obj) if !dry => return Ok(resource_version(&obj)),
                Ok(_) => {}
                Err(e) => {
                    if raced(&api, &target.name, &pinned, &e).await.is_some() {
                        continue 'read;
                    }
                    return Err(describe_error(&e));
                }
            }
        }
        return Ok(None);
    }
    Err(keeps_changing(target, "rollback").message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// covers issue #26: a patched object is read as it was returned, in order, but for
    /// `metadata.managedFields` (and only there).
    #[test]
    fn returned_objects_are_read_without_their_managed_fields() {
        let text = r#"{"kind":"Deployment","metadata":{"name":"web","managedFields":[{"manager":"x","fieldsV1":{"f:spec":{}}}],"resourceVersion":"7"},"spec":{"template":{"metadata":{"managedFields":"kept"}}},"managedFields":"kept too"}"#;
        let read = WithoutManagedFields { metadata: false }
            .deserialize(&mut serde_json::Deserializer::from_str(text))
            .unwrap();
        let mut want: Value = serde_json::from_str(text).unwrap();
        want["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert_eq!(
            serde_json::to_string(&Value::Object(read)).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
        assert_eq!(resource_version(&want).as_deref(), Some("7"));
    }
}
