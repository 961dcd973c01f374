// The Admin API's public face.
export { createAdminServer, type AdminDeps, type AdminServer } from './server.ts';
export { Router, type AdminRequest, type AdminResponse, type Handler } from './router.ts';
export { registerResource, registerForeignEntity, type AdminContext, type ResourceSpec } from './crud.ts';
export { redactConfig, type NodeInfo } from './root.ts';
export { KongError, notFound, badRequest, methodNotAllowed } from '../entities/errors.ts';
