// /openapi/v2: one Swagger 2.0 document for every served group, derived from the OpenAPI v3 documents
// (openapi.ts), as kube-apiserver publishes both. JSON by default; protobuf (gnostic openapi_v2) when
// asked, which carries only the document header: kubectl then uses its compiled-in types for
// strategic-merge patch metadata and reads schemas from /openapi/v3, as it does for kinds a real
// server's v2 lacks.
import type { Schema } from './schema';
import { setOwn } from '../util/own-keys';

/** What kube-openapi answers with for the protobuf form (asked for as ...spec.v2@v1.0+protobuf: '@' is no token character). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** openapi_v2.Document{swagger: "2.0"} in protobuf wire format. */
export const OPENAPI_V2_PROTOBUF_DOC = Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30]);

/** Does the Accept header ask for the protobuf form (kubectl does), rather than JSON? */
export function wantsV2Protobuf(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  const proto = types.findIndex((t) => t.startsWith('application/com.github.proto-openapi.spec.v2'));
  const json = types.findIndex((t) => t === 'application/json' || t === '*/*' || t === 'application/*');
  return proto >= 0 && (json < 0 || proto < json);
}

const V3_REF = '#/components/schemas/';

/** $refs to #/definitions/, and the v3-only keywords Swagger 2.0 has no place for dropped. */
function schemaToV2(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(schemaToV2);
  if (s === null || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable' || k === 'oneOf' || k === 'anyOf' || k === 'not') continue;
    if (k === '$ref' && typeof v === 'string') out[k] = v.startsWith(V3_REF) ? `#/definitions/${v.slice(V3_REF.length)}` : v;
    else setOwn(out, k, schemaToV2(v));
  }
  return out;
}

function parameterToV2(p: Schema): Schema {
  const { schema, ...rest } = p;
  return { ...rest, ...(schema?.type ? { type: schema.type } : { type: 'string' }), ...(schema?.uniqueItems ? { uniqueItems: true } : {}) };
}

function operationToV2(op: Schema): Schema {
  const { requestBody, responses, parameters, ...rest } = op;
  const params: Schema[] = (parameters ?? []).map(parameterToV2);
  const body = requestBody?.content && Object.values(requestBody.content as Record<string, Schema>)[0]?.schema;
  if (body) params.unshift({ name: 'body', in: 'body', required: true, schema: schemaToV2(body) });
  const out: Schema = {
    ...rest,
    consumes: requestBody?.content ? Object.keys(requestBody.content) : ['*/*'],
    produces: ['application/json', 'application/yaml'],
    schemes: ['https'],
    responses: Object.fromEntries(Object.entries((responses ?? {}) as Record<string, Schema>).map(([code, r]) => {
      const schema = r.content && Object.values(r.content as Record<string, Schema>)[0]?.schema;
      return [code, { description: r.description ?? '', ...(schema ? { schema: schemaToV2(schema) } : {}) }];
    })),
  };
  if (params.length) out.parameters = params;
  return out;
}

/** Swagger 2.0 from the v3 documents of every group/version. */
export function swaggerFromV3(docs: Schema[]): Schema {
  const definitions: Schema = {};
  const paths: Schema = {};
  for (const doc of docs) {
    for (const [name, s] of Object.entries((doc.components?.schemas ?? {}) as Schema)) definitions[name] ??= schemaToV2(s);
    for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Schema>)) {
      const v2: Schema = {};
      for (const [k, v] of Object.entries(item)) {
        if (k === 'parameters') {
          if ((v as Schema[]).length) v2.parameters = (v as Schema[]).map(parameterToV2);
        } else v2[k] = operationToV2(v as Schema);
      }
      paths[path] = v2;
    }
  }
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    definitions,
    securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
}
