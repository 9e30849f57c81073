import { ApiClient, Json } from './support/api-client';
import { freshDatabase } from './support/engines';
import { listRoutes } from './support/routes';
import { startTestApp, TestApp } from './support/test-app';
import { WebClient } from './support/web-client';

describe('the OpenAPI description at /api/docs', () => {
  let t: TestApp;
  let doc: Json;
  let api: ApiClient;
  beforeAll(async () => {
    t = await startTestApp(await freshDatabase('sqlite'));
    doc = await (await fetch(`${t.url}/api/docs/json`)).json();
    ({ api } = await ApiClient.forNewUser(t.url, 'docs@example.com'));
  });
  afterAll(() => t.close());

  it('describes exactly the routes the API serves', () => {
    const served = listRoutes(t.app)
      .filter((r) => r.path.startsWith('/api/v1/'))
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    expect(doc.openapi).toMatch(/^3\./);
    expect(documented).toEqual(served);
  });

  it('documents the fields the API accepts and returns', async () => {
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.CreateNoteDto.properties).sort()).toEqual(['body', 'editableByTeam', 'tags', 'title', 'visibility']);
    expect(schemas.CreateNoteDto.properties.visibility).toMatchObject({ enum: ['private', 'team', 'public'], default: 'private' });
    expect(schemas.CreateNoteDto.required.sort()).toEqual(['body', 'title']);
    const created = await api.call('POST', '/api/v1/notes', { title: 'doc', body: 'x' });
    expect(Object.keys(schemas.NoteDto.properties).sort()).toEqual(Object.keys(created.body).sort());
    const list = await api.call('GET', '/api/v1/notes');
    expect(Object.keys(schemas.NoteListDto.properties).sort()).toEqual(Object.keys(list.body).sort());
    const me = await api.call('GET', '/api/v1/me');
    expect(Object.keys(schemas.MeDto.properties).sort()).toEqual(Object.keys(me.body).sort());
    const problem = await api.call('POST', '/api/v1/notes', { title: '' });
    expect(Object.keys(schemas.ProblemDto.properties).sort()).toEqual(expect.arrayContaining(Object.keys(problem.body).sort()));
    const params = doc.paths['/api/v1/notes'].get.parameters.map((p: Json) => p.name).sort();
    expect(params).toEqual(['cursor', 'limit', 'order', 'q', 'scope', 'sort', 'tag']);
    const scope = doc.paths['/api/v1/notes'].get.parameters.find((p: Json) => p.name === 'scope');
    expect(scope.schema).toMatchObject({ enum: ['mine', 'team', 'all'], default: 'mine' });
    const sort = doc.paths['/api/v1/notes'].get.parameters.find((p: Json) => p.name === 'sort');
    expect(sort.schema).toMatchObject({ enum: ['relevance', 'newest'], default: 'relevance' });
    const order = doc.paths['/api/v1/notes'].get.parameters.find((p: Json) => p.name === 'order');
    expect(order.schema).toMatchObject({ enum: ['updated', 'created'], default: 'updated' });
    expect(Object.keys(schemas.UpdateNoteDto.properties)).toEqual(expect.arrayContaining(['pinned', 'visibility', 'editableByTeam']));
  });

  it('documents every status the API answers', async () => {
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses);
    const id = (await api.call('POST', '/api/v1/notes', { title: 'n', body: '' })).body.id;
    const team = (await api.call('POST', '/api/v1/notes', { title: 'team', body: '', visibility: 'team' })).body.id;
    const { api: member } = await ApiClient.forNewUser(t.url, 'member@example.com');
    const observed: Array<[string, string, number]> = [
      ['/api/v1/notes', 'get', (await api.call('GET', '/api/v1/notes?scope=anyone')).status],
      ['/api/v1/notes/{id}', 'patch', (await member.call('PATCH', `/api/v1/notes/${team}`, { title: 'm' })).status],
      ['/api/v1/notes/{id}', 'delete', (await member.call('DELETE', `/api/v1/notes/${team}`)).status],
      ['/api/v1/notes/{id}/revisions', 'get', (await member.call('GET', `/api/v1/notes/${team}/revisions`)).status],
      ['/api/v1/notes', 'post', (await api.call('POST', '/api/v1/notes', { title: 'n', body: '' })).status],
      ['/api/v1/notes', 'post', (await api.call('POST', '/api/v1/notes', { title: '' })).status],
      ['/api/v1/notes', 'post', (await api.call('POST', '/api/v1/notes', undefined, JSON.stringify({ title: 'x', body: 'y'.repeat(1_100_000) }))).status],
      ['/api/v1/notes', 'get', (await api.call('GET', '/api/v1/notes?limit=5')).status],
      ['/api/v1/notes', 'get', (await api.call('GET', '/api/v1/notes?limit=0')).status],
      ['/api/v1/notes/{id}', 'get', (await api.call('GET', `/api/v1/notes/${id}`)).status],
      ['/api/v1/notes/{id}', 'get', (await api.call('GET', '/api/v1/notes/00000000-0000-0000-0000-000000000000')).status],
      ['/api/v1/notes/{id}', 'patch', (await api.call('PATCH', `/api/v1/notes/${id}`, { title: 'm' })).status],
      ['/api/v1/notes/{id}', 'patch', (await api.call('PATCH', `/api/v1/notes/${id}`, { title: '' })).status],
      ['/api/v1/notes/{id}', 'delete', (await api.call('DELETE', `/api/v1/notes/${id}`)).status],
      ['/api/v1/notes/{id}', 'delete', (await api.call('DELETE', `/api/v1/notes/${id}`)).status],
      ['/api/v1/me', 'get', (await new ApiClient(t.url, 'krk_000000000000_x').call('GET', '/api/v1/me')).status],
    ];
    for (const [path, method, status] of observed)
      expect({ path, method, status, documented: statuses(path, method).includes(String(status)) }).toEqual({ path, method, status, documented: true });
  });

  it('has a readable page that needs no script', async () => {
    const page = await new WebClient(t.url).get('/api/docs');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<code>/api/v1/notes/{id}</code>');
    expect(page.text).not.toContain('<script');
  });
});
