import { describe, expect, it } from 'vitest';
import { applicationsToCsv, parseApplicationsCsv } from '../../../../tools/model/csv.ts';
import { ModelError } from '../../../../model/errors.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';

const HEADER =
  'Own_car,Own_property,Mobile_phone,Num_children,Household_size,Total_income,Age,Income_type,Education_type,Family_status,Occupation_type,Housing_type,Account_age,Employed,Years_employed,Target';
const ROW = '1,1,1,2,4,27500.000000000004,35,Salaried,Higher education,Married,Engineer,House / apartment,36,1,1,1';

function issuesOf(text: string) {
  try {
    parseApplicationsCsv(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).code).toBe('invalid_csv');
    return (e as ModelError).details.issues as { line: number; column?: string; message: string }[];
  }
  throw new Error('expected invalid_csv');
}

describe('CSV loader', () => {
  it('reads the seed layout (bin index for years employed, 0/1 flags)', () => {
    const [row] = parseApplicationsCsv(`${HEADER}\n${ROW}\n`);
    expect(row).toEqual({
      approved: 1,
      features: {
        own_car: true,
        own_property: true,
        mobile_phone: true,
        num_children: 2,
        household_size: 4,
        total_income: 27500.000000000004,
        age: 35,
        income_type: 'Salaried',
        education_type: 'Higher education',
        family_status: 'Married',
        occupation_type: 'Engineer',
        housing_type: 'House / apartment',
        account_age: 36,
        employed: true,
        years_employed: '2-5',
      },
    });
  });

  it('round-trips generated data', () => {
    const rows = generateApplications(300, 8);
    expect(parseApplicationsCsv(applicationsToCsv(rows))).toEqual(rows);
  });

  it('names the line and column of every bad cell', () => {
    const bad = [
      ROW.replace(',35,', ',12,'), // age out of range
      ROW.replace('Engineer', 'Astronaut'),
      ROW.replace(/,1,1,1$/, ',1,9,1'), // bin index 9
      ROW.replace(/^1,/, 'yes,'),
      ROW.replace(/,1$/, ',2'),
    ];
    const issues = issuesOf([HEADER, ROW, ...bad].join('\n'));
    expect(issues).toEqual([
      { line: 3, column: 'Age', message: 'age must be at least 18' },
      { line: 4, column: 'Occupation_type', message: expect.stringMatching(/occupation_type must be one of/) },
      { line: 5, column: 'Years_employed', message: 'bin index must be 0–5, got 9' },
      { line: 6, column: 'Own_car', message: 'must be 0 or 1' },
      { line: 7, column: 'Target', message: 'must be 0 or 1' },
    ]);
  });

  it('refuses missing, unknown and duplicate columns, ragged rows, and empty files', () => {
    expect(issuesOf(`${HEADER.replace(',Age', '')}\n`)).toContainEqual({ line: 1, column: 'Age', message: 'column is missing' });
    expect(issuesOf(`${HEADER},Salary\n${ROW},1\n`)).toContainEqual({ line: 1, column: 'Salary', message: 'unknown column' });
    expect(() => parseApplicationsCsv(`${HEADER}\n${ROW},7\n`)).toThrow(/malformed at line 2/);
    expect(() => parseApplicationsCsv('')).toThrow(/empty/);
    expect(() => parseApplicationsCsv(`${HEADER}\n`)).toThrow(/no data rows/);
    expect(() => parseApplicationsCsv(`${HEADER}\n${ROW}\n"unterminated\n`)).toThrow(ModelError);
  });
});
