import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Controller, Get, INestApplication, NotFoundException, Param, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { IsNotEmpty } from 'class-validator';
import express from 'express';
import request from 'supertest';
import { Form, FormState } from './form';
import { FormView } from './form-view';
import { Page, RedirectTo } from './page';
import { Pages } from './page.interceptor';
import { CharLength } from './rules';
import { WebModule } from './web.module';

class SignupForm {
  @IsNotEmpty({ message: 'form.required' }) email!: string;

  @CharLength(1, 5, { message: 'name.invalid' }) name!: string;
}

@Controller()
@Pages()
class FormsController {
  @Get('signup')
  signupPage(): Page {
    return this.signupForm({ values: {}, errors: {} });
  }

  @Post('signup')
  @FormView<FormsController>('signupForm')
  signup(@Form() form: SignupForm): RedirectTo {
    return new RedirectTo(`/welcome?name=${form.name}`, { cookies: [{ name: 'flash', value: 'flash.welcome', options: { httpOnly: true } }] });
  }

  signupForm({ values, errors }: FormState): Page {
    return new Page('signup', { values, errors });
  }

  @Post('closed')
  @FormView<FormsController>('closedForm')
  closed(@Form() _form: SignupForm): RedirectTo {
    return new RedirectTo('/');
  }

  closedForm(): Page {
    return new Page('signup', { closed: true }, { status: 403 });
  }

  @Post('notes/:id')
  @FormView<FormsController>('noteForm')
  note(@Param('id') id: string, @Form() _form: SignupForm): RedirectTo {
    return new RedirectTo(`/notes/${id}`);
  }

  noteForm(): never {
    throw new NotFoundException();
  }

  @Post('bare')
  bare(@Form() _form: SignupForm): string {
    return 'accepted';
  }

  @Get('teapot')
  teapot(): Page {
    return new Page(
      'signup',
      { values: {} },
      { status: 418, headers: { 'Retry-After': '7' }, cookies: [{ name: 'gone', value: null, options: { path: '/' } }] },
    );
  }

  @Get('json')
  json(): object {
    return { plain: true };
  }
}

/** Views that print the data they are given, as JSON. */
function jsonViews(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiroku-views-'));
  for (const name of ['signup', 'error']) writeFileSync(join(dir, `${name}.json`), '');
  return dir;
}

describe('pages and forms of a route (FormView, FormPipe, PageInterceptor)', () => {
  let app: INestApplication;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [WebModule], controllers: [FormsController] }).compile();
    const nest = moduleRef.createNestApplication<NestExpressApplication>(new ExpressAdapter(express()), { bodyParser: false, logger: false });
    nest.use(express.urlencoded({ extended: false }));
    nest.engine('json', (file: string, options: object, done: (error: Error | null, html?: string) => void) => {
      const { settings: _s, _locals: _l, cache: _c, ...data } = options as Record<string, unknown>;
      done(null, JSON.stringify({ view: basename(file, '.json'), ...data }));
    });
    nest.setBaseViewsDir(jsonViews());
    nest.setViewEngine('json');
    app = await nest.init();
  });
  afterAll(() => app.close());

  const post = (path: string, form: string) => request(app.getHttpServer()).post(path).type('form').set('accept', 'text/html').send(form);

  it('re-renders the form page of a refused form with its errors and the values sent, status 400', async () => {
    const reply = await post('/signup', '_csrf=t&email=&name=toolong');
    expect(reply.status).toBe(400);
    expect(reply.type).toBe('text/html');
    expect(JSON.parse(reply.text)).toEqual({
      view: 'signup',
      values: { email: '', name: 'toolong' },
      errors: { email: 'form.required', name: 'name.invalid' },
    });
  });

  it('refuses a repeated (array) field as empty and shows it empty, instead of failing', async () => {
    const reply = await post('/signup', 'email=a%40example.com&email=b%40example.com&name=Ann');
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toEqual({ view: 'signup', values: { email: '', name: 'Ann' }, errors: { email: 'form.required' } });
  });

  it('hands an accepted form to the route, whose redirect carries its cookies (303 by default)', async () => {
    const reply = await post('/signup', 'email=a%40example.com&name=Ann');
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/welcome?name=Ann');
    expect(reply.headers['set-cookie']).toEqual(['flash=flash.welcome; Path=/; HttpOnly']);
  });

  it("keeps a form page's own 4xx (a closed form: 403)", async () => {
    const reply = await post('/closed', 'email=');
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.text)).toEqual({ view: 'signup', closed: true });
  });

  it('answers with the error a form page throws (a form for something that is not there: 404)', async () => {
    const reply = await post('/notes/42', 'email=');
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.text)).toMatchObject({ view: 'error', status: 404 });
  });

  it('answers a refused form of a route without @FormView with the 400 error, problem+json for JSON clients', async () => {
    expect((await post('/bare', 'email=')).status).toBe(400);
    const json = await request(app.getHttpServer()).post('/bare').type('form').set('accept', 'application/json').send('email=&name=Ann');
    expect(json.status).toBe(400);
    expect(json.body.errors).toEqual([{ field: 'email', message: 'form.required' }]);
    expect((await post('/bare', 'email=a&name=b')).text).toBe('accepted');
  });

  it('sends a returned page with its status, headers and cookies', async () => {
    const reply = await request(app.getHttpServer()).get('/teapot');
    expect(reply.status).toBe(418);
    expect(reply.headers['retry-after']).toBe('7');
    expect(reply.headers['set-cookie']).toEqual(['gone=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    expect(JSON.parse(reply.text)).toEqual({ view: 'signup', values: {} });
  });

  it('passes anything else a route returns to Nest untouched', async () => {
    const reply = await request(app.getHttpServer()).get('/json');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ plain: true });
  });
});
