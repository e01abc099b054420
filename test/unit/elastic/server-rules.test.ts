/**
 * The scripted cluster refuses what Elasticsearch refuses (test/support/elastic-rules.ts):
 * a component template is validated alone, an index template after composition.
 * Source: elastic/elasticsearch MetadataIndexTemplateService (addComponentTemplate →
 * validateTemplate; validateIndexTemplateV2 → validateCompositeTemplate), FieldMapper's
 * analyzer parameter, KeywordFieldMapper's normalizer.
 */
import { errors } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { ANALYSIS } from '../../../src/lib/db/elastic/index-specs.js';
import { FakeCluster } from '../../support/elastic-cluster.js';
import {
  componentTemplateRefusal,
  indexTemplateRefusal,
  putMappingRefusal,
} from '../../support/elastic-rules.js';

const textField = { properties: { title: { type: 'text', analyzer: 'nova_text' } } };
const keywordField = { properties: { tag: { type: 'keyword', normalizer: 'nova_keyword' } } };

describe('component templates, validated with their own settings only', () => {
  it('refuses a mappings-only component whose analyzer another component defines', () => {
    expect(componentTemplateRefusal({ template: { mappings: textField } })).toBe(
      'Failed to parse mapping: analyzer [nova_text] has not been configured in mappings',
    );
    expect(componentTemplateRefusal({ template: { mappings: keywordField } })).toBe(
      'Failed to parse mapping: normalizer [nova_keyword] not found for field [tag]',
    );
  });

  it('accepts one that defines them, and built-in analyzers anywhere (multi-fields too)', () => {
    const settings = { analysis: ANALYSIS };
    expect(componentTemplateRefusal({ template: { settings, mappings: textField } })).toBe(
      undefined,
    );
    expect(
      componentTemplateRefusal({
        template: {
          mappings: {
            properties: { s: { type: 'completion', analyzer: 'simple' } },
          },
        },
      }),
    ).toBeUndefined();
    const nested = {
      properties: { t: { type: 'keyword', fields: { x: { type: 'text', search_analyzer: 'x' } } } },
    };
    expect(componentTemplateRefusal({ template: { mappings: nested } })).toMatch(/analyzer \[x\]/);
  });

  it('the scripted cluster answers 400 mapper_parsing_exception, and keeps nothing', async () => {
    const cluster = new FakeCluster();
    const error = await cluster
      .client()
      .cluster.putComponentTemplate({ name: 'm', template: { mappings: textField as never } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errors.ResponseError);
    expect((error as errors.ResponseError).statusCode).toBe(400);
    expect((error as errors.ResponseError).body).toMatchObject({
      error: { type: 'mapper_parsing_exception' },
    });
    expect(cluster.components.has('m')).toBe(false);
  });
});

describe('index templates, validated after composition', () => {
  const components = new Map([
    ['analysis', { template: { settings: { analysis: ANALYSIS } } }],
    ['mappings', { template: { mappings: textField } }],
  ]);

  it('accept mappings whose analysis another composed component defines', () => {
    expect(
      indexTemplateRefusal('t', { composed_of: ['analysis', 'mappings'] }, components),
    ).toBeUndefined();
  });

  it('refuse them when no composed part defines it', () => {
    expect(indexTemplateRefusal('t', { composed_of: ['mappings'] }, components)).toMatch(
      /^composable template \[t\] template after composition .* analyzer \[nova_text\]/,
    );
  });
});

describe('put-mapping onto existing fields (MapperService.merge, FieldMapper.Parameter)', () => {
  const existing = {
    message: {
      type: 'match_only_text',
      fields: { keyword: { type: 'keyword', ignore_above: 1024 } },
    },
    trace: { type: 'keyword', index: false, doc_values: false },
    title: { type: 'text', analyzer: 'nova_text' },
  };

  it('accepts new fields, new multi-fields, an identical field and updatable parameters', () => {
    expect(putMappingRefusal(existing, { added: { type: 'keyword' } })).toBeUndefined();
    expect(putMappingRefusal(existing, { trace: existing.trace })).toBeUndefined();
    expect(
      putMappingRefusal(existing, {
        message: {
          type: 'match_only_text',
          fields: { keyword: { type: 'keyword', ignore_above: 256 }, raw: { type: 'keyword' } },
        },
      }),
    ).toBeUndefined();
  });

  it('refuses another type, a changed fixed parameter, and a fixed parameter left out', () => {
    expect(putMappingRefusal(existing, { trace: { type: 'text' } })).toBe(
      'mapper [trace] cannot be changed from type [keyword] to [text]',
    );
    expect(putMappingRefusal(existing, { trace: { type: 'keyword', doc_values: false } })).toBe(
      'Mapper for [trace] conflicts with existing mapper:\n\tCannot update parameter [index] from [false] to [true]',
    );
    expect(putMappingRefusal(existing, { title: { type: 'text' } })).toMatch(
      /Cannot update parameter \[analyzer\] from \[nova_text\] to \[default\]/,
    );
  });
});
