import { asArray, asObject, getNumber, getString, optionalString, parseJsonBody } from './json-shape.js';

/** One row of `GET /v1/catalog/service/:name` (the fields drover reads). */
export interface CatalogServiceInstance {
  node: string;
  /** The node's address. */
  address: string;
  datacenter: string;
  serviceId: string;
  serviceName: string;
  /** `""` means the node's address. */
  serviceAddress: string;
  servicePort: number;
  serviceTags: string[];
}

/** The catalog's instances of one service; an unknown service is an empty list (HTTP 200). */
export function parseCatalogService(body: string, path: string): CatalogServiceInstance[] {
  const source = `GET ${path}`;
  return asArray(parseJsonBody(body, source), source, '').map((row, i) => {
    const at = `[${i}]`;
    const o = asObject(row, source, at);
    const tags =
      o['ServiceTags'] === null || o['ServiceTags'] === undefined
        ? []
        : asArray(o['ServiceTags'], source, `${at}.ServiceTags`);
    return {
      node: getString(o, 'Node', source, at),
      address: getString(o, 'Address', source, at),
      datacenter: optionalString(o, 'Datacenter', source, at) ?? '',
      serviceId: getString(o, 'ServiceID', source, at),
      serviceName: getString(o, 'ServiceName', source, at),
      serviceAddress: optionalString(o, 'ServiceAddress', source, at) ?? '',
      servicePort: getNumber(o, 'ServicePort', source, at),
      serviceTags: tags.map(String),
    };
  });
}
