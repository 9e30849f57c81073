import { etagOf, ifMatchVersions } from './etag';

describe('If-Match', () => {
  it('accepts the tags the API gives out, alone or in a list', () => {
    expect(ifMatchVersions(etagOf(7))).toEqual([7]);
    expect(ifMatchVersions(`${etagOf(3)}, ${etagOf(12)}`)).toEqual([3, 12]);
  });

  it('lets any version through without the header or with *', () => {
    expect(ifMatchVersions(undefined)).toBeNull();
    expect(ifMatchVersions(' * ')).toBeNull();
  });

  it.each([['W/"v7"'], ['"7"'], ['"v07"'], ['"v0"'], ['"something-else"'], ['""']])('matches no version with a weak or foreign tag: %s', (header) => {
    expect(ifMatchVersions(header)).toEqual([]);
  });

  it.each([['7'], ['v7'], ['"v7'], ['"v7",'], ['"v7" "v8"'], [''], ['*, "v7"'], ['"v 7"']])(
    'calls a header that is not a list of entity-tags malformed: %s',
    (header) => {
      expect(ifMatchVersions(header)).toBe('malformed');
    },
  );
});
