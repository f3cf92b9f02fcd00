// A second, independent keyless signer for tests/live_signatures.rs: sigstore-js signs an
// image digest as cosign v3 does (a DSSE in-toto statement of predicate type
// https://sigstore.dev/cosign/sign/v1 naming the digest), with @sigstore/mock standing in for
// Fulcio (an ephemeral CA with a CT log) and Rekor (SET, inclusion proof, checkpoint), and
// @sigstore/oci attaches the bundle to the image as an OCI 1.1 referrer.
//
//   node sign-image.js REGISTRY REPOSITORY DIGEST IDENTITY ISSUER OUT_DIR
//
// Writes OUT_DIR/trusted_root.json (the mock CA, CT log and Rekor keys: the trust the test
// gives the tool and cosign) and OUT_DIR/bundle.json (the bundle it attached). The packages
// come from the cache tests/cluster/setup.sh fills (NODE_PATH); nothing is fetched here, and
// the mocks answer in-process (nock): no request leaves the machine but the registry's.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const nock = require('nock');
const mock = require('@sigstore/mock');
const { DSSEBundleBuilder, FulcioSigner, RekorWitness } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');
const { attachArtifactToImage } = require('@sigstore/oci');

const FULCIO = 'https://fulcio.secfix.test';
const REKOR = 'https://rekor.secfix.test';
const CTLOG = 'https://ctfe.secfix.test';
const PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const SINCE = '2020-01-01T00:00:00Z';

// Bytes as Node gives them (Buffer, ArrayBuffer, a typed-array view) to a Buffer.
const bytes = (b) =>
  ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b);
const b64 = (b) => bytes(b).toString('base64');
const b64url = (s) => Buffer.from(s).toString('base64url');
const keyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

// Serves a @sigstore/mock handler at base + handler.path, as @sigstore/mock's own mock() does.
function serve(base, handler) {
  nock(base)
    .persist()
    .post(handler.path)
    .reply(async (_uri, body) => {
      const req = typeof body === 'string' ? body : JSON.stringify(body);
      const r = await handler.fn(req);
      return [r.statusCode, r.response, { 'Content-Type': r.contentType || 'text/plain' }];
    });
}

function logEntry(baseUrl, spki) {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: SINCE } },
    logId: { keyId: b64(crypto.createHash('sha256').update(bytes(spki)).digest()) },
  };
}

async function main() {
  const [registry, repository, digest, identity, issuer, outDir] = process.argv.slice(2);
  if (!outDir || !digest.startsWith('sha256:')) {
    throw new Error('usage: sign-image.js REGISTRY REPOSITORY sha256:DIGEST IDENTITY ISSUER OUT_DIR');
  }
  const ctlog = await mock.initializeCTLog(keyPair());
  const ca = await mock.initializeCA(keyPair(), ctlog);
  const tlog = await mock.initializeTLog(REKOR, keyPair());
  serve(FULCIO, mock.fulcioHandler(ca, { strict: true, subjectClaim: 'sub' }));
  serve(REKOR, mock.rekorHandler(tlog, { strict: true }));

  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [logEntry(REKOR, tlog.publicKey)],
    certificateAuthorities: [
      {
        subject: { organization: 'secfix-test', commonName: 'mock fulcio' },
        uri: FULCIO,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start: SINCE },
      },
    ],
    ctlogs: [logEntry(CTLOG, ctlog.publicKey)],
    timestampAuthorities: [],
  };

  // An OIDC token as Fulcio reads it (the mock does not check its signature).
  const token = [
    b64url(JSON.stringify({ alg: 'none', typ: 'JWT' })),
    b64url(JSON.stringify({ iss: issuer, sub: identity, aud: 'sigstore' })),
    b64url('unsigned'),
  ].join('.');
  const builder = new DSSEBundleBuilder({
    signer: new FulcioSigner({ fulcioBaseURL: FULCIO, identityProvider: { getToken: async () => token } }),
    // An intoto entry: @sigstore/mock's Rekor logs the proposed entry itself as the body,
    // which for a 'dsse' entry lacks the hashes real Rekor computes (envelopeHash: verifiers
    // rightly refuse it); an intoto v0.0.2 entry logged as proposed is well formed.
    witnesses: [new RekorWitness({ rekorBaseURL: REKOR, entryType: 'intoto' })],
  });
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `${registry}/${repository}`, digest: { sha256: digest.slice('sha256:'.length) } }],
    predicateType: PREDICATE,
    predicate: {},
  };
  const bundle = await builder.create({
    data: Buffer.from(JSON.stringify(statement)),
    type: 'application/vnd.in-toto+json',
  });
  const json = JSON.stringify(bundleToJSON(bundle));
  const descriptor = await attachArtifactToImage({
    imageName: `${registry}/${repository}`,
    imageDigest: digest,
    artifact: Buffer.from(json),
    mediaType: BUNDLE_TYPE,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': PREDICATE,
    },
    credentials: { username: process.env.REGISTRY_USER || '', password: process.env.REGISTRY_PASSWORD || '' },
  });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'trusted_root.json'), JSON.stringify(trustedRoot, null, 2));
  fs.writeFileSync(path.join(outDir, 'bundle.json'), json);
  process.stdout.write(`${descriptor.digest}\n`);
}

main().catch((e) => {
  process.stderr.write(`sign-image.js: ${e && e.stack ? e.stack : e}\n`);
  if (e && e.cause) process.stderr.write(`caused by: ${e.cause.stack || e.cause}\n`);
  process.exit(1);
});
