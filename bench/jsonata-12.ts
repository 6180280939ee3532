/**
 * bench/mapping-12.yaml as a JSONata expression, for the comparison the
 * benchmark reports. JSONata has no postcode or time-zone functions, so those
 * two fields use the nearest it has (a regex, a fixed +01:00 picture).
 */
export const JSONATA_12 = `(
  $nm := answers[question_id='nm'];
  $addr := answers[question_id='addr'];
  $t := {'mr':'MR','mrs':'MRS','miss':'MISS','ms':'MS','dr':'DR'};
  $d := function($v){ $v ? $fromMillis($toMillis($v, '[D01]/[M01]/[Y0001]'), '[D01].[M01].[Y0001]') };
  {
    'REF': submission_reference,
    'SURNAME': $substring($uppercase($trim($nm.last_name)), 0, 35),
    'FORENAMES': $substring($uppercase($trim($nm.first_name)), 0, 35),
    'TITLE': $nm.title ? ($lookup($t, $lowercase($trim($nm.title))) ? $lookup($t, $lowercase($trim($nm.title))) : 'OTH'),
    'DOB': $d(answers[question_id='dob'].answer_text),
    'LICENCE': $uppercase($replace(answers[question_id='lic'].answer_text, /\\s+/, '')),
    'ADDR1': $substring($uppercase($trim($addr.address1)), 0, 30),
    'TOWN': $substring($uppercase($trim($addr.town_or_city)), 0, 30),
    'POSTCODE': $replace($uppercase($replace($addr.postcode, /\\s+/, '')), /^(.+)(\\d[A-Z]{2})$/, '$1 $2'),
    'MOVED': $d(answers[question_id='moved'].answer_text),
    'WELSH': language = 'cy' ? 'Y' : 'N',
    'RECEIVED': $fromMillis($toMillis(submitted_at), '[Y0001][M01][D01][H01][m01]', '+0100')
  }
)`;
