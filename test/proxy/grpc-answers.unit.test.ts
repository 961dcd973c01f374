// Kong's mapping of its own HTTP answers to gRPC statuses (kong/pdk/response.lua:
// HTTP_TO_GRPC_STATUS and the ranges `send` falls back to), and what makes a request gRPC.
import { describe, expect, test } from 'vitest';
import { grpcMessageOf, grpcStatusOf, isGrpcRequest } from '../../src/proxy/grpc-answers.ts';

describe('grpcStatusOf', () => {
  test("Kong's table", () => {
    const table: [number, number][] = [[200, 0], [400, 3], [401, 16], [403, 7], [404, 5], [409, 6], [429, 8], [499, 1], [500, 13], [501, 12], [503, 14], [504, 4]];
    for (const [http, grpc] of table) expect(grpcStatusOf(http), String(http)).toBe(grpc);
  });

  test('other statuses by range: 5xx Internal, 4xx InvalidArgument, 2xx OK, else Unknown', () => {
    expect(grpcStatusOf(502)).toBe(13);
    expect(grpcStatusOf(413)).toBe(3);
    expect(grpcStatusOf(204)).toBe(0);
    expect(grpcStatusOf(301)).toBe(2);
  });
});

describe('grpcMessageOf', () => {
  test("a table body's message string, else none (Kong drops other tables for gRPC)", () => {
    expect(grpcMessageOf('{"message":"No API key found in request","request_id":"x"}')).toBe('No API key found in request');
    expect(grpcMessageOf('{"error":"x"}')).toBeNull();
    expect(grpcMessageOf('{"message":3}')).toBeNull();
    expect(grpcMessageOf('')).toBeNull();
    expect(grpcMessageOf('not json')).toBeNull();
  });
});

describe('isGrpcRequest', () => {
  test('HTTP/2 with a Content-Type that starts application/grpc', () => {
    expect(isGrpcRequest({ httpVersionMajor: 2, headers: { 'content-type': 'application/grpc' } })).toBe(true);
    expect(isGrpcRequest({ httpVersionMajor: 2, headers: { 'content-type': 'application/grpc+proto' } })).toBe(true);
    expect(isGrpcRequest({ httpVersionMajor: 1, headers: { 'content-type': 'application/grpc' } })).toBe(false);
    expect(isGrpcRequest({ httpVersionMajor: 2, headers: { 'content-type': 'application/json' } })).toBe(false);
    expect(isGrpcRequest({ httpVersionMajor: 2, headers: {} })).toBe(false);
  });
});
