/**
 * The seed application's data set columns, one per feature, and its label column: what the CSV
 * reader and writer use, and the names an imported PMML or ONNX model may give its inputs.
 */
import type { FeatureName } from '../../model/features.ts';

/** The seed's CSV column for each feature (the label column is `Target`). */
export const CSV_COLUMNS: Readonly<Record<FeatureName, string>> = {
  own_car: 'Own_car',
  own_property: 'Own_property',
  mobile_phone: 'Mobile_phone',
  num_children: 'Num_children',
  household_size: 'Household_size',
  total_income: 'Total_income',
  age: 'Age',
  income_type: 'Income_type',
  education_type: 'Education_type',
  family_status: 'Family_status',
  occupation_type: 'Occupation_type',
  housing_type: 'Housing_type',
  account_age: 'Account_age',
  employed: 'Employed',
  years_employed: 'Years_employed',
};
export const CSV_TARGET_COLUMN = 'Target';
