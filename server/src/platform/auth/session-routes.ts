/**
 * The session routes customers and staff share: `POST /auth/refresh` (rotates the refresh token) and
 * `POST /auth/logout`, with one wire shape for a session. Each account kind registers them under its own prefix
 * with its own token store.
 */
import { Type, type FastifyPluginAsyncTypebox, type Static } from '@fastify/type-provider-typebox';

export const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

export const SessionSchema = Type.Object({
  accessToken: Type.String({ description: 'JWT; send as `Authorization: Bearer <accessToken>`' }),
  refreshToken: Type.String({
    description: 'single use: every refresh returns a new one; reusing an old one ends every session of this login',
  }),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  tokenType: Type.Literal('Bearer'),
});

export interface SessionStore {
  refresh(refreshToken: string): Promise<Static<typeof SessionSchema>>;
  logout(refreshToken: string): Promise<void>;
}

type TypeboxApp = Parameters<FastifyPluginAsyncTypebox>[0];

export function registerSessionRoutes(app: TypeboxApp, tags: string[], sessions: SessionStore): void {
  app.post(
    '/auth/refresh',
    {
      config: { auth: 'public' },
      schema: { tags, summary: 'New access token (rotates the refresh token)', body: RefreshBody, response: { 200: SessionSchema } },
    },
    async (request, reply) => reply.header('cache-control', 'no-store').send(await sessions.refresh(request.body.refreshToken)),
  );
  app.post(
    '/auth/logout',
    { config: { auth: 'public' }, schema: { tags, summary: 'End the session of this refresh token', body: RefreshBody } },
    async (request, reply) => {
      await sessions.logout(request.body.refreshToken);
      return reply.code(204).send();
    },
  );
}
